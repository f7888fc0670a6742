#!/usr/bin/python3
# A headset disconnects the way bluetoothd does it (Battery1 goes away, then
# Connected turns false): "connected,0" is logged before Connected=false is
# published, no battery line is invented, the device stays published.  It then
# reconnects with a new level: "connected,1" then "battery,65".
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

ADDR = '38:18:4C:12:34:56'
NAME = 'WH-1000XM4'


def test(env):
    env.mock.start()
    env.mock.add_headset(ADDR, NAME, connected=True, percentage=70)
    env.hpmond.start()
    path = env.wait_device(ADDR)
    env.wait_props(path, Connected=True, Percentage=70)

    mark = env.mark()
    env.mock.remove_battery(ADDR)
    env.mock.disconnect(ADDR)
    env.wait_published(path, 'Connected', False, mark)
    log = env.read_log(ADDR)
    check_equal([(e, v) for _, e, v in log.events],
                [('connected', 1), ('battery', 70), ('connected', 0)],
                'connected,0 is logged when Connected=false is published, and nothing else')
    log.check_well_formed(ADDR, NAME)
    env.barrier()
    props = env.device_props(path)
    check_equal(props['Connected'], False, 'Device.Connected is false')
    check(props['Percentage'] in (70, -1), 'Percentage after Battery1 went away is the last level or -1 (unknown)',
          repr(props['Percentage']))
    note(f'Percentage while disconnected: {props["Percentage"]}')
    check_equal(env.get_device(ADDR), path, 'the device stays published while disconnected')
    pct_changes = env.published(path, 'Percentage', mark)
    check(all(v in (70, -1) for v in pct_changes), 'no made-up level published on disconnect', repr(pct_changes))

    st = env.hpctl_json('status', '--json')
    d = [x for x in st['devices'] if x.get('address') == ADDR]
    check(len(d) == 1 and d[0]['connected'] is False, 'hpctl status --json shows it disconnected', repr(st))

    # Reconnect at a new level: Connected first, then Battery1 comes back.
    mark = env.mark()
    env.mock.connect(ADDR)
    env.mock.add_battery(ADDR, 65)
    env.wait_published(path, 'Percentage', 65, mark)
    check(True in env.published(path, 'Connected', mark), 'Connected=true published on reconnect')
    log = env.read_log(ADDR)
    check_equal([(e, v) for _, e, v in log.events],
                [('connected', 1), ('battery', 70), ('connected', 0), ('connected', 1), ('battery', 65)],
                'reconnect logs connected,1 then battery,65')
    log.check_well_formed(ADDR, NAME)
    hist = env.history(path, 0.0)
    check_equal([(e, v) for _, e, v in hist], [(e, v) for _, e, v in log.events], 'GetHistory returns the whole log')

    # Reconnect at the same level: only connected lines.
    mark = env.mark()
    env.mock.remove_battery(ADDR)
    env.mock.disconnect(ADDR)
    env.wait_published(path, 'Connected', False, mark)
    mark = env.mark()
    env.mock.connect(ADDR)
    env.mock.add_battery(ADDR, 65)
    env.wait_published(path, 'Connected', True, mark)
    env.barrier()
    env.wait_props(path, Connected=True, Percentage=65)
    log = env.read_log(ADDR)
    check_equal([(e, v) for _, e, v in log.events][5:], [('connected', 0), ('connected', 1)],
                'reconnect at the same level logs no battery line')
    log.check_well_formed(ADDR, NAME)
    env.hpmond.stop()


t.run(test)
