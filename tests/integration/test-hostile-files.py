#!/usr/bin/python3
# hpmond starts on a state directory full of damaged, hostile and odd files named like
# charge logs (or nearly): torn, truncated in the middle of the header, binary garbage,
# a bad name in the header, enormous (50 MB of valid lines), times out of order and
# far in the future, a line longer than the reader's buffer, CRLF, empty; a directory,
# a symlink (to a file outside, and dangling) and a FIFO named like a log; logs with
# bad names; an immutable log (chattr +i: the test runs as root, so modes would not
# stop it; skipped where chattr does not work).
#
# hpmond must reach READY=1 (the 50 MB replay included, timed), say what is wrong with
# each file with its name — and its line number for each bad line — never crash, never
# write through a symlink, never hang on a FIFO, publish only valid names, and restore
# every good device with the level of its last valid line.  Then bluetoothd shows the
# headsets whose logs were odd: what is appended is whole and readable, and the files
# hpmond cannot use stay as they were.
import os
import random
import re
import shutil
import subprocess
import sys
import time
import unicodedata

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

dbus = t.dbus
ENORMOUS_MB = 50
HEAD = '# hpmon charge log v1\n# address={a}\n# name={n}\ntime,event,value\n'
NOW = int(time.time())


def addr(i):
    return f'AA:BB:CC:DD:EE:{i:02X}'


def fname(a):
    return t.log_name(a)


GOOD = addr(0x01)
TORN = addr(0x02)
HALFHEAD = addr(0x03)
BINARY = addr(0x04)
BADNAME = addr(0x05)
ENORMOUS = addr(0x06)
BACKWARDS = addr(0x07)
FUTURE = addr(0x08)
ADIR = addr(0x09)
SYMLINK = addr(0x0A)
FIFO = addr(0x0B)
DANGLING = addr(0x0D)
IMMUTABLE = addr(0x10)
EMPTY = addr(0x11)
LONGLINE = addr(0x13)
CRLF = addr(0x14)


def lines(a, name, events):
    return HEAD.format(a=a, n=name) + ''.join(f'{tm},{e},{v}\n' for tm, e, v in events)


def write_files(devdir, tmp, rng):
    """Returns {address: level it must be restored with}, and facts for later checks."""
    want = {}
    w = lambda name, data, mode='w': open(os.path.join(devdir, name), mode).write(data)  # noqa: E731

    w(fname(GOOD), lines(GOOD, 'Good Buds', [(f'{NOW - 600}.000', 'connected', 1), (f'{NOW - 600}.000', 'battery', 55)]))
    want[GOOD] = 55
    w(fname(TORN), lines(TORN, 'Torn Buds', [(f'{NOW - 500}.000', 'connected', 1), (f'{NOW - 500}.000', 'battery', 44)])
      + f'{NOW - 400}.123,batt')
    want[TORN] = 44
    w(fname(HALFHEAD), f'# hpmon charge log v1\n# address={HALFHEAD}\n# na')
    want[HALFHEAD] = -1
    garbage = bytes(rng.randrange(256) for _ in range(64 * 1024))
    w(fname(BINARY), garbage, 'wb')
    want[BINARY] = -1
    # 50 MB of valid lines, levels falling and rising, one a minute
    block = []
    tm = NOW - 3 * 365 * 86400
    for i in range(40000):
        block.append(f'{tm + 60 * i}.000,battery,{abs(50 - i % 101)}\n')
    block = ''.join(block)
    with open(os.path.join(devdir, fname(ENORMOUS)), 'w') as f:
        f.write(HEAD.format(a=ENORMOUS, n='Enormous Buds'))
        size = 0
        while size < ENORMOUS_MB * 1000 * 1000:
            f.write(block)
            size += len(block)
        f.write(f'{NOW - 200}.000,battery,77\n')
    want[ENORMOUS] = 77
    w(fname(BACKWARDS), lines(BACKWARDS, 'Backwards Buds', [(f'{NOW - 100}.000', 'battery', 20),
                                                            (f'{NOW - 5000}.000', 'battery', 30),
                                                            (f'{NOW - 90000}.500', 'battery', 40),
                                                            ('0.000', 'battery', 50),
                                                            (f'{NOW - 7000}.000', 'battery', 60)]))
    want[BACKWARDS] = 60
    w(fname(FUTURE), lines(FUTURE, 'Future Buds', [(f'{NOW - 100}.000', 'battery', 20),
                                                   ('16725225600.000', 'battery', 25),      # year 2500
                                                   ('999999999999.999', 'battery', 26),     # year 33658
                                                   ('9999999999999.000', 'battery', 27)]))  # 13 digits: line 7, bad
    want[FUTURE] = 26
    os.mkdir(os.path.join(devdir, fname(ADIR)))
    victim = os.path.join(tmp, 'victim.txt')
    with open(victim, 'w') as f:
        f.write('not a charge log\n')
    os.symlink(victim, os.path.join(devdir, fname(SYMLINK)))
    os.symlink(os.path.join(tmp, 'nowhere.csv'), os.path.join(devdir, fname(DANGLING)))
    os.mkfifo(os.path.join(devdir, fname(FIFO)))
    w(fname(EMPTY), '')
    want[EMPTY] = -1
    w(fname(LONGLINE), lines(LONGLINE, 'Long Line', [(f'{NOW - 50}.000', 'battery', 81)])
      + '1' * (3 * 1024 * 1024) + '\n' + 'x' * 2000 + '\n' + f'{NOW - 40}.000,battery,82\n')
    want[LONGLINE] = 82
    w(fname(CRLF), lines(CRLF, 'Windows Buds', [(f'{NOW - 50}.000', 'battery', 91)]).replace('\n', '\r\n'))
    want[CRLF] = 91
    for bad in ('not-an-address.csv', 'AA_BB_CC_DD_EE_GG.csv', 'AA_BB_CC_DD_EE_1.csv', 'AA:BB:CC:DD:EE:15.csv',
                'AA_BB_CC_DD_EE_16.CSV', 'AA_BB_CC_DD_EE_17.csv.bak', '.AA_BB_CC_DD_EE_18.csv.tmp',
                'ZZ_BB_CC_DD_EE_19.csv'):
        w(bad, lines('AA:BB:CC:DD:EE:FF', 'Bad Name', [(f'{NOW}.000', 'battery', 1)]))
    immutable = False
    w(fname(IMMUTABLE), lines(IMMUTABLE, 'Immutable Buds', [(f'{NOW - 50}.000', 'battery', 64)]))
    if shutil.which('chattr') and os.getuid() == 0:
        r = subprocess.run(['chattr', '+i', os.path.join(devdir, fname(IMMUTABLE))], capture_output=True, text=True)
        immutable = r.returncode == 0
        if not immutable:
            note(f'chattr +i does not work here ({r.stderr.strip()}): the immutable log is an ordinary one')
    else:
        note('no chattr, or not root: the immutable log is an ordinary one')
    if not immutable:
        want[IMMUTABLE] = 64
    return want, victim, immutable


def no_control(s):
    return not any(unicodedata.category(ch) == 'Cc' for ch in s)


def test(env):
    rng = random.Random(6)
    devdir = os.path.join(env.state_dir, 'devices')
    os.makedirs(devdir)
    want, victim, immutable = write_files(devdir, env.tmp, rng)
    try:
        run(env, devdir, want, victim, immutable)
    finally:
        # before the harness reads every log of a failed test: a FIFO would block it,
        # an immutable file would survive the clean-up
        if immutable:
            subprocess.run(['chattr', '-i', os.path.join(devdir, fname(IMMUTABLE))])
        os.unlink(os.path.join(devdir, fname(FIFO)))


def run(env, devdir, want, victim, immutable):
    before = {n: os.lstat(os.path.join(devdir, n)) for n in os.listdir(devdir)}
    env.mock.start()
    t0 = time.monotonic()
    env.hpmond.start()
    ready = time.monotonic() - t0
    note(f'hpmond ready {ready:.2f}s after its start, with a {ENORMOUS_MB} MB log among the others')
    check(env.hpmond.alive(), 'hpmond reached READY=1 and runs')
    err = env.hpmond.stderr_text()
    warn = [ln for ln in err.splitlines() if re.match(r'<[0-4]>', ln)]
    long = [ln for ln in warn if len(ln) >= 600]
    check(not long, f'no warning is longer than 600 characters ({len(warn)} warnings)', '\n'.join(x[:200] for x in long[:3]))
    per_file = {}
    for ln in warn:
        m = re.search(r'devices/([^:\s]+)', ln)
        per_file.setdefault(m.group(1) if m else '-', []).append(ln)
    for n, lns in sorted(per_file.items()):
        note(f'{n}: {len(lns)} warning(s), first: {lns[0][:150]}')

    def said(pattern, what):
        check(any(re.search(pattern, ln) for ln in warn), what, err)

    # Each bad line is named with file and line.
    said(re.escape(fname(FUTURE)) + r':8\b', f'{fname(FUTURE)}:8, the 13-digit time, is reported with file and line')
    said(re.escape(fname(LONGLINE)) + r':\d+', f'{fname(LONGLINE)}: the 3 MB line is reported with file and line')
    binary_lines = [ln for ln in warn if re.search(re.escape(fname(BINARY)) + r':\d+', ln)]
    check(binary_lines, f'{fname(BINARY)}: its garbage lines are reported with file and line ({len(binary_lines)})')
    said(re.escape(fname(TORN)) + r'.*torn', f'{fname(TORN)}: the torn last line is reported')
    # Files hpmond cannot use are named.
    for a, what in ((ADIR, 'a directory'), (SYMLINK, 'a symlink'), (DANGLING, 'a dangling symlink'), (FIFO, 'a FIFO')):
        said(re.escape(fname(a)), f'{what} named like a log is reported by name')
    for bad in ('AA_BB_CC_DD_EE_GG.csv', 'ZZ_BB_CC_DD_EE_19.csv'):
        said(re.escape(bad), f'{bad}: a log whose name is no canonical address is reported')
    if immutable:
        said(re.escape(fname(IMMUTABLE)), 'the immutable log is reported by name')

    # The API works (a bad name cannot break GetManagedObjects) and every good device is back.
    objs = env.managed_objects()
    for a, level in sorted(want.items()):
        p = objs.get(t.device_path(a), {}).get(t.DEVICE_IFACE)
        check(p is not None and p['Percentage'] == level, f'{a} restored at {level}', repr(p))
    for a in (ADIR, SYMLINK, DANGLING, FIFO) + ((IMMUTABLE,) if immutable else ()):
        check(t.device_path(a) not in objs, f'{a}: no device from a file hpmond cannot use')
    hist = env.history(t.device_path(BACKWARDS), 0.0)
    check_equal([v for _, e, v in hist if e == 'battery'], [20, 30, 40, 50, 60],
                'times out of order: read in file order, the last line is the state')
    hist = env.history(t.device_path(FUTURE), 0.0)
    check_equal([(round(tm, 3), v) for tm, e, v in hist if e == 'battery'],
                [(float(NOW - 100), 20), (16725225600.0, 25), (999999999999.999, 26)],
                'times far in the future are read as they are (the 13-digit one skipped)')
    st = env.hpctl_json('status', '--json')
    check_equal(len(st['devices']), len(want), '`hpctl status --json` lists every restored device')

    # History of the enormous log: the recent part.
    pe = t.device_path(ENORMOUS)
    hist = env.history(pe, float(NOW - 300))
    check_equal([(e, v) for _, e, v in hist if e == 'battery'], [('battery', 77)], 'GetHistory of the last minutes of the 50 MB log')
    check(env.hpmond.alive() and env.name_owner(t.BUS_NAME), 'hpmond still runs and owns its name')
    env.barrier()

    # bluetoothd shows the headsets whose files were odd, and some good ones at a new level.
    shown = {HALFHEAD: 66, BINARY: 65, EMPTY: 64, FUTURE: 63, BACKWARDS: 62, CRLF: 61, ADIR: 50, SYMLINK: 51,
             DANGLING: 52, FIFO: 53, IMMUTABLE: 56}
    for a, lvl in shown.items():
        env.mock.add_headset(a, f'Shown {a[-2:]}', connected=True, percentage=lvl)
    for a in (HALFHEAD, BINARY, EMPTY, FUTURE, BACKWARDS, CRLF) + (() if immutable else (IMMUTABLE,)):
        env.wait_props(t.device_path(a), Connected=True, Percentage=shown[a])
    env.barrier()
    check(env.hpmond.alive(), 'hpmond survived headsets whose logs it cannot use')
    env.read_log(EMPTY).check_well_formed(EMPTY)
    for a in (HALFHEAD, BINARY, FUTURE, BACKWARDS, CRLF):
        with open(env.log_path(a), 'rb') as f:
            tail = f.read()[-200:]
        check(tail.endswith(f',battery,{shown[a]}\n'.encode()), f'{a}: the new level is appended as a whole line',
              repr(tail))
    hist = env.history(t.device_path(FUTURE), float(NOW - 1000))
    check_equal([v for _, e, v in hist if e == 'battery'][-1], shown[FUTURE], 'GetHistory shows the new level after the future ones')
    with open(victim) as f:
        check_equal(f.read(), 'not a charge log\n', 'the file a symlinked log points to is untouched')
    check(not os.path.exists(os.path.join(env.tmp, 'nowhere.csv')), 'a dangling symlink was not followed to create a file')
    for n, stb in before.items():
        p = os.path.join(devdir, n)
        if n in (fname(ADIR), fname(SYMLINK), fname(DANGLING), fname(FIFO), fname(IMMUTABLE) if immutable else None):
            sta = os.lstat(p)
            check((sta.st_mode, sta.st_ino, sta.st_size) == (stb.st_mode, stb.st_ino, stb.st_size),
                  f'{n}: left as it was')
    check(not os.path.exists(os.path.join(devdir, '.AA_BB_CC_DD_EE_18.csv.tmp')),
          'a temporary file left by an interrupted rewrite is removed at start')
    extra = sorted(set(os.listdir(devdir)) - set(before))
    note(f'files hpmond created: {extra}')
    env.hpmond.stop()


t.run(test)
