#!/usr/bin/python3
# bluetoothd dies and comes back.  While org.bluez has no owner every connected
# headset is logged "connected,0" and published Connected=false, and
# Manager.BluezRunning is false.  When it returns with its devices already in
# place (GetManagedObjects), or announces them afterwards (InterfacesAdded), the
# headsets are found again: "connected,1" logged, battery only if it changed.
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

A = ('AA:BB:CC:DD:EE:FF', 'WH-1000XM4')
B = ('00:1B:66:0A:0B:0C', 'Jabra Elite 85h')


def ev(log):
    return [(e, v) for _, e, v in log.events]


def bluez_gone(env, paths):
    mark = env.mark()
    env.mock.kill()
    for p in paths:
        env.wait_published(p, 'Connected', False, mark)
    env.wait_manager_published('BluezRunning', False, mark)
    check_equal(env.manager_props()['BluezRunning'], False, 'PropertiesChanged(BluezRunning=false), and Get agrees')


def test(env):
    env.mock.start()
    env.mock.add_headset(*A, connected=True, percentage=80)
    env.mock.add_headset(*B, connected=True, percentage=55)
    env.hpmond.start()
    pa, pb = env.wait_device(A[0]), env.wait_device(B[0])
    env.wait_props(pa, Connected=True, Percentage=80)
    env.wait_props(pb, Connected=True, Percentage=55)

    # 1. bluetoothd crashes.
    bluez_gone(env, (pa, pb))
    check_equal(ev(env.read_log(A[0])), [('connected', 1), ('battery', 80), ('connected', 0)],
                f'{A[0]}: connected,0 logged when bluetoothd went away')
    check_equal(ev(env.read_log(B[0])), [('connected', 1), ('battery', 55), ('connected', 0)],
                f'{B[0]}: connected,0 logged when bluetoothd went away')
    check_equal(env.get_device(A[0]), pa, 'devices stay published while bluetoothd is away')
    st = env.hpctl_json('status', '--json')
    check(all(d['connected'] is False for d in st['devices']) and len(st['devices']) == 2,
          'hpctl status --json shows both disconnected', repr(st))

    # 2. It comes back knowing both devices (A same level, B changed while away).
    mark = env.mark()
    env.mock.start(preload=[dict(address=A[0], alias=A[1], connected=True, percentage=80),
                            dict(address=B[0], alias=B[1], connected=True, percentage=60)])
    env.wait_published(pa, 'Connected', True, mark)
    env.wait_published(pb, 'Percentage', 60, mark)
    env.wait_props(pb, Connected=True, Percentage=60)
    env.wait_manager_published('BluezRunning', True, mark)
    la, lb = env.read_log(A[0]), env.read_log(B[0])
    check_equal(ev(la)[3:], [('connected', 1)], f'{A[0]}: found again via GetManagedObjects, same level: connected,1 only')
    check_equal(ev(lb)[3:], [('connected', 1), ('battery', 60)], f'{B[0]}: found again, level changed: connected,1, battery,60')
    la.check_well_formed(*A)
    lb.check_well_formed(*B)
    env.barrier()
    check_equal(env.published(pa, 'Percentage', mark), [], f'{A[0]}: no Percentage change published (same level)')

    # 3. It dies again and comes back empty; the headset is announced afterwards.
    bluez_gone(env, (pa, pb))
    mark = env.mark()
    env.mock.start()
    env.wait_manager_published('BluezRunning', True, mark)
    env.mock.add_headset(*A, connected=True, percentage=80)
    env.wait_published(pa, 'Connected', True, mark)
    env.barrier()
    la, lb = env.read_log(A[0]), env.read_log(B[0])
    check_equal(ev(la)[4:], [('connected', 0), ('connected', 1)],
                f'{A[0]}: announced by InterfacesAdded after the restart: connected,1 and no battery line')
    check_equal(ev(lb)[5:], [('connected', 0)], f'{B[0]}: not back, stays disconnected')
    la.check_well_formed(*A)
    lb.check_well_formed(*B)
    props = env.wait_props(pa, Connected=True, Percentage=80)
    note(f'{A[0]} after all that: {props}')
    check_equal(env.device_props(pb)['Connected'], False, f'{B[0]}: Connected false')
    env.hpmond.stop()


t.run(test)
