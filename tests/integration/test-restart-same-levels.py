#!/usr/bin/python3
# hpmond restarts (SIGTERM, exit 0, start again).  It replays its logs, then
# re-reads BlueZ: with the same levels it adds no line at all; with a level that
# changed while it was down it adds exactly that line; a headset that
# disconnected while it was down gets "connected,0".
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

A = ('AA:BB:CC:DD:EE:FF', 'WH-1000XM4')
B = ('00:1B:66:0A:0B:0C', 'Jabra Elite 85h')


def ev(env, addr):
    return [(e, v) for _, e, v in env.read_log(addr).events]


def test(env):
    env.mock.start()
    env.mock.add_headset(*A, connected=True, percentage=80)
    env.mock.add_headset(*B, connected=True, percentage=30)
    env.hpmond.start()
    pa, pb = env.wait_device(A[0]), env.wait_device(B[0])
    env.wait_props(pa, Connected=True, Percentage=80)
    env.wait_props(pb, Connected=True, Percentage=30)
    env.hpmond.stop()

    # Same levels: not a byte more.
    before = {a: env.read_log(a).raw for a in (A[0], B[0])}
    for run in (2, 3):
        env.hpmond.start()
        props = env.wait_props(pa, Connected=True, Percentage=80)
        env.wait_props(pb, Connected=True, Percentage=30)
        env.barrier()
        for a in (A[0], B[0]):
            check(env.read_log(a).raw == before[a], f'restart #{run - 1}, same levels: {a} log unchanged',
                  env.read_log(a).dump())
        note(f'{A[0]} after restart: {props}')
        env.hpmond.stop()

    # Changes while hpmond was down: A drained to 60, B disconnected (Battery1 gone).
    env.mock.set_percentage(A[0], 60)
    env.mock.remove_battery(B[0])
    env.mock.disconnect(B[0])
    env.hpmond.start()
    env.wait_props(pa, Connected=True, Percentage=60)
    env.wait_props(pb, Connected=False)
    env.barrier()
    check_equal(ev(env, A[0]), [('connected', 1), ('battery', 80), ('battery', 60)],
                f'{A[0]}: the level that changed while hpmond was down is logged once')
    check_equal(ev(env, B[0]), [('connected', 1), ('battery', 30), ('connected', 0)],
                f'{B[0]}: disconnected while hpmond was down: connected,0 logged once')
    env.read_log(A[0]).check_well_formed(*A)
    env.read_log(B[0]).check_well_formed(*B)

    # And once more: nothing new.
    before = {a: env.read_log(a).raw for a in (A[0], B[0])}
    env.hpmond.stop()
    env.hpmond.start()
    env.wait_props(pa, Connected=True, Percentage=60)
    env.wait_props(pb, Connected=False)
    env.barrier()
    for a in (A[0], B[0]):
        check(env.read_log(a).raw == before[a], f'last restart: {a} log unchanged', env.read_log(a).dump())
    env.hpmond.stop()


t.run(test)
