#!/usr/bin/python3
# hpctl's errors with hpmond running: a bad address and an unknown device are
# one clear line on stderr and a non-zero exit; on the bus GetDevice answers
# InvalidArgs and org.hpmon.Monitor1.Error.NoSuchDevice.  Lower-case addresses
# are accepted.  An unknown command is an error too.
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, fail  # noqa: E402

ADDR = 'AA:BB:CC:DD:EE:FF'


def one_line(r, what, pattern):
    check(r.returncode != 0, f'{what}: exits non-zero', f'exit {r.returncode}')
    lines = r.stderr.splitlines()
    check(len(lines) == 1, f'{what}: exactly one line on stderr', repr(r.stderr))
    check(re.search(pattern, lines[0], re.I), f'{what}: says so: {lines[0]}', repr(lines[0]))
    check(r.stdout == '', f'{what}: nothing on stdout', repr(r.stdout))


def dbus_error(env, address):
    try:
        env.get_device(address)
    except t.dbus.DBusException as e:
        return e.get_dbus_name()
    fail(f'GetDevice({address!r}) should fail')


def test(env):
    env.mock.start()
    env.mock.add_headset(ADDR, 'WH-1000XM4', connected=True, percentage=80)
    env.hpmond.start()
    path = env.wait_device(ADDR)
    env.wait_props(path, Percentage=80)

    for bad in ('nonsense', 'AA:BB:CC:DD:EE', 'AA:BB:CC:DD:EE:FF:00', 'GG:BB:CC:DD:EE:FF', ''):
        check_equal(dbus_error(env, bad), 'org.freedesktop.DBus.Error.InvalidArgs', f'GetDevice({bad!r})')
    check_equal(dbus_error(env, '00:11:22:33:44:55'), 'org.hpmon.Monitor1.Error.NoSuchDevice',
                'GetDevice of an unknown headset')
    check_equal(env.get_device(ADDR.lower()), path, 'GetDevice accepts a lower-case address')

    one_line(env.hpctl('history', 'nonsense'), '`hpctl history nonsense`', r'address|invalid|nonsense')
    one_line(env.hpctl('history', 'nonsense', '--json'), '`hpctl history nonsense --json`', r'address|invalid|nonsense')
    one_line(env.hpctl('history', '00:11:22:33:44:55'), '`hpctl history` of an unknown headset',
             r'no such|unknown|not known|00:11:22:33:44:55')
    one_line(env.hpctl('history', '00:11:22:33:44:55', '--json'), '`hpctl history --json` of an unknown headset',
             r'no such|unknown|not known|00:11:22:33:44:55')
    one_line(env.hpctl('history', ADDR, '--since', 'yesterday-ish'), '`hpctl history --since` garbage',
             r'since|time|invalid')
    r = env.hpctl('frobnicate')
    check(r.returncode != 0 and r.stderr.strip(), '`hpctl frobnicate`: non-zero exit and a message',
          f'{r.returncode} {r.stderr!r}')

    h = env.hpctl_json('history', ADDR.lower(), '--json')
    check_equal(h.get('address'), ADDR, '`hpctl history` accepts a lower-case address and prints it upper-case')
    env.hpmond.stop()


t.run(test)
