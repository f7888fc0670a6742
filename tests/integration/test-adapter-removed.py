#!/usr/bin/python3
# The adapter goes away (USB dongle pulled) and BlueZ announces only the adapter's
# removal, not each device's (dbusmock's RemoveAdapter does exactly that): every
# headset under it must be marked disconnected, and logged so, once.
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check_equal  # noqa: E402

ADDRS = ['AA:BB:CC:DD:EE:A1', 'AA:BB:CC:DD:EE:A2']


def test(env):
    env.mock.start()
    for i, a in enumerate(ADDRS):
        env.mock.add_headset(a, f'Dongle headset {i}', connected=True, percentage=60 + i)
    env.hpmond.start()
    paths = [env.wait_device(a) for a in ADDRS]
    for p, a in zip(paths, ADDRS):
        env.wait_props(p, Connected=True)

    env.mock.call('/', t.BLUEZ_MOCK_IFACE, 'RemoveAdapter', 's', ('hci0',))
    for p in paths:
        env.wait_props(p, Connected=False, what=f'{p} to be disconnected with its adapter')
    env.barrier()
    for a in ADDRS:
        log = env.read_log(a)
        log.check_well_formed(a)
        check_equal(log.values('connected'), [1, 0], f'{a}: the disconnect is logged once')
    env.hpmond.stop()


t.run(test)
