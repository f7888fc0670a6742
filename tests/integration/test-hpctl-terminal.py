#!/usr/bin/python3
# hpctl on a terminal and off it: colour only on a terminal, never with
# NO_COLOR set, never into a pipe; `hpctl history` draws a sparkline on a
# terminal.  The terminal is a pseudo-terminal the test opens.
import os
import pty
import select
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, fail, note  # noqa: E402

ADDR = 'AA:BB:CC:DD:EE:FF'
ESC = '\x1b'
BLOCKS = set('▁▂▃▄▅▆▇█')


def on_pty(env, args, no_color):
    """Run hpctl with a pseudo-terminal as stdin/stdout/stderr; return what it printed."""
    env_vars = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=env.bus.address, TERM='xterm-256color',
                    COLUMNS='100', LC_ALL='C.UTF-8')
    env_vars.pop('NO_COLOR', None)
    if no_color:
        env_vars['NO_COLOR'] = '1'
    master, slave = pty.openpty()
    proc = t.Proc([t.HPCTL, *args], 'hpctl on a pty', env=env_vars, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    out = b''
    deadline = time.monotonic() + t.TIMEOUT
    while True:       # read until the pty hangs up (hpctl exited), bounded by the deadline
        left = deadline - time.monotonic()
        if left <= 0:
            proc.end()
            fail(f'hpctl {" ".join(args)} on a pty did not finish')
        r, _, _ = select.select([master], [], [], left)
        try:
            data = os.read(master, 65536) if r else b''
        except OSError:       # EIO: the other side is closed
            break
        if not data:
            break
        out += data
    os.close(master)
    status = proc.wait()
    proc.end()
    text = out.decode('utf-8', errors='replace')
    if status != 0:
        fail(f'hpctl {" ".join(args)} on a pty exited {status}', text)
    return text


def test(env):
    env.mock.start()
    env.mock.add_headset(ADDR, 'WH-1000XM4', connected=True, percentage=80)
    env.hpmond.start()
    path = env.wait_device(ADDR)
    for v in (70, 60, 50, 40, 30):
        env.mock.set_percentage(ADDR, v)
    env.wait_props(path, Percentage=30)

    for args in (('status',), ('history', ADDR)):
        cmd = 'hpctl ' + ' '.join(args)
        r = env.hpctl(*args, env_extra={'TERM': 'xterm-256color'})
        check(r.returncode == 0 and ESC not in r.stdout, f'{cmd} into a pipe: no escape sequences', repr(r.stdout))
        plain = on_pty(env, args, no_color=True)
        check(ESC not in plain, f'{cmd} on a terminal with NO_COLOR: no escape sequences', repr(plain))
        coloured = on_pty(env, args, no_color=False)
        note(f'{cmd} on a terminal uses colour: {ESC in coloured}')
        check(ADDR in plain and ADDR in coloured, f'{cmd} on a terminal shows the headset')
        if args[0] == 'history':
            check(BLOCKS & set(plain), f'{cmd} on a terminal draws a sparkline', plain)
            note('sparkline line: ' + next(ln for ln in plain.splitlines() if BLOCKS & set(ln)).strip())
    env.hpmond.stop()


t.run(test)
