#!/usr/bin/python3
# hpctl when hpmond is not running (the bus and bluetoothd are): every command
# exits non-zero with exactly one clear line on stderr and nothing on stdout.
# Also with no system bus at all.
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check  # noqa: E402

CLEAR = re.compile(r'not running|hpmond|org\.hpmon\.Monitor1', re.I)


def check_one_line_error(r, what, clear=CLEAR):
    check(r.returncode != 0, f'{what}: exits non-zero', f'exit {r.returncode}')
    lines = r.stderr.splitlines()
    check(len(lines) == 1 and lines[0].strip(), f'{what}: exactly one line on stderr', repr(r.stderr))
    check(clear.search(lines[0]), f'{what}: the line says what is wrong: {lines[0]}', repr(lines[0]))
    check(r.stdout == '', f'{what}: nothing on stdout', repr(r.stdout))


def test(env):
    env.mock.start()
    env.mock.add_headset('AA:BB:CC:DD:EE:FF', 'WH-1000XM4', connected=True, percentage=80)
    check(env.name_owner(t.BUS_NAME) == '', 'hpmond is not on the bus')
    for args in (('status',), ('status', '--json'), ('history', 'AA:BB:CC:DD:EE:FF'),
                 ('history', 'AA:BB:CC:DD:EE:FF', '--json'), ()):
        check_one_line_error(env.hpctl(*args), f'`hpctl {" ".join(args)}` without hpmond')

    # No system bus at all.
    nobus = {'DBUS_SYSTEM_BUS_ADDRESS': 'unix:path=' + os.path.join(env.tmp, 'no-such-socket')}
    for args in (('status',), ('status', '--json')):
        r = env.hpctl(*args, env_extra=nobus)
        check_one_line_error(r, f'`hpctl {" ".join(args)}` without a system bus',
                             clear=re.compile(r'bus|not running|hpmond|connect', re.I))


t.run(test)
