#!/usr/bin/python3
# A headset that BlueZ already shows (connected, Battery1 at 80 %) when hpmond
# starts: hpmond finds it through GetManagedObjects, logs "connected,1" then
# "battery,80", and publishes it with the right properties and history.
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

ADDR = 'AA:BB:CC:DD:EE:FF'
NAME = 'WH-1000XM4'


def test(env):
    env.mock.start()
    env.mock.add_headset(ADDR, NAME, connected=True, percentage=80)
    t0 = time.time()
    env.hpmond.start()

    mp = env.manager_props()
    check(isinstance(mp.get('Version'), str) and mp['Version'], 'Manager.Version is a non-empty string', repr(mp))
    check_equal(mp.get('StateDirectory'), env.state_dir, 'Manager.StateDirectory is --state-dir')
    env.wait_manager_prop('BluezRunning', True)
    check(True, 'Manager.BluezRunning is true')

    path = env.wait_device(ADDR)
    check_equal(path, t.device_path(ADDR), 'GetDevice returns the documented object path')
    props = env.wait_props(path, Connected=True, Percentage=80)
    t1 = time.time()
    check_equal(props['Address'], ADDR, 'Device.Address')
    check_equal(props['Name'], NAME, 'Device.Name is the BlueZ alias')
    check_equal(props['Connected'], True, 'Device.Connected')
    check_equal(props['Percentage'], 80, 'Device.Percentage')
    check(t0 - 1 <= props['LastChange'] <= t1 + 1, 'Device.LastChange is the time of the change',
          f'{props["LastChange"]} not in [{t0}, {t1}]')

    objs = env.managed_objects()
    check(path in objs and t.DEVICE_IFACE in objs[path], 'ObjectManager lists the device', repr(list(objs)))
    check_equal(objs[path][t.DEVICE_IFACE]['Percentage'], 80, 'ObjectManager carries Percentage')

    log = env.read_log(ADDR)
    log.check_well_formed(ADDR, NAME)
    check_equal([(e, v) for _, e, v in log.events], [('connected', 1), ('battery', 80)],
                'first sight of a connected headset logs connected,1 then battery,80')
    for tm, e, v in log.events:
        check(t0 - 1 <= tm <= t1 + 1, f'logged time of {e},{v} is wall-clock now', f'{tm} not in [{t0}, {t1}]')

    hist = env.history(path, 0.0)
    check_equal([(e, v) for _, e, v in hist], [(e, v) for _, e, v in log.events], 'GetHistory(0) returns the log')
    for (ht, _, _), (lt, _, _) in zip(hist, log.events):
        check(abs(ht - lt) < 0.0015, 'GetHistory time equals the logged time', f'{ht} vs {lt}')
    later = env.history(path, log.events[-1][0] + 1.0)
    check_equal(later, [], 'GetHistory(since after the last event) is empty')

    st = env.hpctl_json('status', '--json')
    devs = [d for d in st.get('devices', []) if d.get('address') == ADDR]
    check(len(devs) == 1, 'hpctl status --json lists the headset once', repr(st))
    d = devs[0]
    check_equal((d.get('name'), d.get('connected'), d.get('percentage')), (NAME, True, 80),
                'hpctl status --json name/connected/percentage')
    note(f'status entry: {d}')

    env.hpmond.stop()


t.run(test)
