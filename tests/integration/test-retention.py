#!/usr/bin/python3
# Retention (issue 6): a log older than [log] keep is compacted — temp file + rename(),
# never in place — without changing what the analyzer concludes about the kept span.
#   - B has 800 days of daily use whose battery wears (runtime per charge 20 h → 9 h):
#     battery-degraded is raised in the first year and acknowledged then; sudden-drop
#     was muted then too; in the last 300 days the charger stalls now and then
#     (charge-stall, raised and cleared). hpmond with keep = 365d compacts the log at start: the
#     events before now − 365 d are gone, "# checkpoint=" lines stand before the
#     header, and the old file was replaced by rename (a new inode), not edited.
#   - The same log under a second hpmond that keeps everything (keep = 0) is the
#     reference: active alerts (ids, severity, acknowledged, evidence), Muted and the
#     four figures are the same on both; `hpctl analyze --json` gives the same
#     findings for the kept span on the compacted log as on the original, and lists
#     those still open at the cut (marked "checkpoint": true).
#   - Restarted, the compacting hpmond restores the same again from the checkpoint and
#     does not compact a second time.
#   - A log whose checkpoint is damaged (or another build's) is compacted, the checkpoint
#     replaced by this build's own and reported once; the lines always kept may begin
#     inside a checkpoint without it being read as damaged.
#   - While running: A's log becomes due (keep = 10min) and is compacted after a
#     change is logged, with no timer; the change is in the new file.
import os
import shutil
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

A = ('AA:BB:CC:DD:EE:A1', 'WH-1000XM4')
B = ('AA:BB:CC:DD:EE:B2', 'Jabra Elite 85h')
DAY = 86400.0
HOUR = 3600.0
DAYS = 800
FIGURES = ('TimeToEmpty', 'Health', 'TypicalChargeTime', 'Cycles')


def worn_log(address, name, end, ack_at_day, mute_at_day):
    """DAYS days: each morning 100 % falling one step at a time for 6 h at a rate that
    grows as the battery wears (in its first 300 days); each evening a charge back to 100 at 50 %/h."""
    lines = []
    now = end - DAYS * DAY
    for day in range(DAYS):
        runtime_h = max(9.0, 20.0 - 11.0 * day / 300)
        rate = 100.0 / runtime_h
        start = now + day * DAY + 9 * HOUR
        lines.append((start, 'connected', 1))
        lines.append((start + 1, 'battery', 100))
        level, tm = 100, start + 1
        while tm + 3600.0 / rate < start + 6 * HOUR and level > 15:
            tm += 3600.0 / rate
            level -= 1
            lines.append((tm, 'battery', level))
        lines.append((tm + 60, 'connected', 0))
        c = now + day * DAY + 20 * HOUR
        lines.append((c, 'connected', 1))
        lines.append((c + 1, 'battery', level))
        tm = c + 1
        stall = day > DAYS - 300 and day % 50 == 7     # a charger that stops now and then, in the kept span
        while level < 100:
            tm += 72
            level += 1
            lines.append((tm, 'battery', level))
            if stall and level == 60:
                tm += 3 * HOUR
        lines.append((tm + 60, 'connected', 0))
        if day == ack_at_day:
            lines.append((tm + 120, 'ack', t.KINDS.index('battery-degraded')))
        if day == mute_at_day:
            lines.append((tm + 180, 'mute', t.KINDS.index('sudden-drop')))
    # as hpmond logs: a level only when it differs from the last one logged
    logged, last = [], None
    for tm, e, v in lines:
        if e == 'battery':
            if v == last:
                continue
            last = v
        logged.append((tm, e, v))
    return ('# hpmon charge log v1\n'
            f'# address={address}\n'
            f'# name={name}\n'
            'time,event,value\n'
            + ''.join(f'{tm:.3f},{e},{v}\n' for tm, e, v in logged))


def snapshot(env, address):
    path = env.get_device(address)
    alerts = sorted((a['id'], a['severity'], a['acknowledged'], a['raised'], tuple(sorted(a['evidence'].items())))
                    for a in env.manager_alerts() if a['address'] == address)
    muted = sorted(str(k) for k in env.call(path, t.PROPS_IFACE, 'Get', 'ss', (t.DEVICE_IFACE, 'Muted')))
    figures = {n: float(env.call(path, t.PROPS_IFACE, 'Get', 'ss', (t.DEVICE_IFACE, n))) for n in FIGURES}
    return alerts, muted, figures


def analyze(env, path, checkpoint=False):
    """The findings of `hpctl analyze --json`: those after the checkpoint, or (checkpoint=True)
    those it says were open at the checkpoint."""
    out = env.hpctl_json('analyze', '--json', path)
    return [(f['kind'], f['state'], f['time'], f['severity'], tuple(sorted(f['evidence'].items())))
            for f in out['findings'] if f.get('checkpoint', False) == checkpoint]


def start(env, state_dir, cfg, extra_env=None):
    env.state_dir = state_dir
    env.hpmond.start(extra_args=('--config', cfg), extra_env=extra_env)
    env.wait_props(env.wait_device(B[0]), Connected=False, Percentage=100)


def test(env):
    end = time.time() - 3600
    # where battery-degraded stands open: ask the analyzer itself, offline
    probe = os.path.join(env.tmp, 'probe.csv')
    with open(probe, 'w') as f:
        f.write(worn_log(*B, end, -1, -1))
    raised = [f for f in env.hpctl_json('analyze', '--json', probe)['findings']
              if f['kind'] == 'battery-degraded' and f['state'] == 'raised']
    check(raised, 'the worn battery raises battery-degraded (the scenario works)')
    ack_day = int((raised[0]['time'] - (end - DAYS * DAY)) // DAY) + 1
    check(ack_day < DAYS - 400, f'battery-degraded raised on day {ack_day - 1}, before the span that is kept')
    text = worn_log(*B, end, ack_day, ack_day + 1)

    ref_dir = os.path.join(env.tmp, 'ref')
    cut_dir = env.state_dir
    for d in (ref_dir, cut_dir):
        os.makedirs(os.path.join(d, 'devices'), exist_ok=True)
        with open(os.path.join(d, 'devices', t.log_name(B[0])), 'w') as f:
            f.write(text)
    original = os.path.join(env.tmp, 'original.csv')
    with open(original, 'w') as f:
        f.write(text)

    env.mock.start()
    env.mock.add_headset(*B, connected=False)

    # the reference: keep everything
    start(env, ref_dir, env.write_config('[log]\nkeep = 0\n', 'keep-all.conf'))
    want = snapshot(env, B[0])
    env.hpmond.stop()
    note(f'reference: {want}')
    check(any(a[0].endswith('-battery-degraded-' + str(round(raised[0]['time'] * 1000))) and a[2] for a in want[0]),
          'reference: battery-degraded is active and acknowledged', repr(want[0]))
    check_equal(want[1], ['sudden-drop'], 'reference: sudden-drop is muted')
    with open(os.path.join(ref_dir, 'devices', t.log_name(B[0]))) as f:
        check(f.read() == text, 'keep = 0: the log is left whole')

    # compaction at start
    cfg = env.write_config('[log]\nkeep = 365d\n')
    path = os.path.join(cut_dir, 'devices', t.log_name(B[0]))
    inode = os.stat(path).st_ino
    start(env, cut_dir, cfg)
    env.hpmond.wait_stderr(r'Compacted the log of ' + B[0], 0, 'hpmond says it compacted B')
    log = env.read_log(B[0])
    log.check_well_formed(*B)
    check(os.stat(path).st_ino != inode, 'compacted by rename(): the log is a new file, not edited in place')
    check(not [n for n in os.listdir(os.path.join(cut_dir, 'devices')) if n.startswith('.')],
          'no temporary file left behind')
    ck = [c for c in log.comments if c.startswith('# checkpoint=')]
    check(ck, f'the log has a checkpoint ({len(ck)} lines)')
    check(all(len(c) <= 800 for c in ck), 'checkpoint lines are short')
    lines = text.splitlines()
    check(log.text.index('# checkpoint=') < log.text.index('time,event,value'), 'the checkpoint stands before the header')
    cut = end + 3600 - 365 * DAY
    first = log.events[0][0]
    check(first >= cut - 2, f'every kept event is newer than now - keep ({first:.0f} ≥ {cut:.0f})')
    kept = log.text[log.text.index('time,event,value\n') + len('time,event,value\n'):]
    check(text.endswith(kept), 'the kept lines are the original lines, byte for byte')
    check(len(log.events) < len(lines) * 0.55, f'{len(lines)} lines → {len(log.events)} events kept')
    got = snapshot(env, B[0])
    check_equal(got, want, 'after compaction: the same active alerts (acknowledged), Muted and figures')

    # hpctl analyze: the same findings for the kept span
    full = analyze(env, original)
    last_dropped = max(float(l.split(',')[0]) for l in lines[4:] if float(l.split(',')[0]) < first)
    compacted = analyze(env, path)
    check(compacted, f'hpctl analyze finds something in the kept span ({len(compacted)} findings)')
    check_equal(compacted, [f for f in full if f[2] > last_dropped],
                'hpctl analyze: the compacted log gives the original\'s findings for the kept span')
    r = env.hpctl('analyze', path)
    check('compacted: what came before' in r.stdout, 'hpctl analyze says the log was compacted', r.stdout[:400])
    # what was raised before the cut and still open there (the worn battery): shown as such
    open_at_cut = {}
    for f in full:
        if f[2] <= last_dropped:
            open_at_cut[f[0]] = f
    open_at_cut = sorted(f for f in open_at_cut.values() if f[1] != 'cleared')
    check(any(f[0] == 'battery-degraded' for f in open_at_cut), 'the worn battery is open at the cut (the scenario works)')
    check_equal(sorted(analyze(env, path, checkpoint=True)), open_at_cut,
                'hpctl analyze lists the findings open at the checkpoint as the original log has them')
    check('open at the checkpoint' in r.stdout, 'and says so in text', r.stdout[:600])

    # restart: restored from the checkpoint, not compacted again
    env.hpmond.stop()
    before = log.raw
    start(env, cut_dir, cfg)
    check_equal(snapshot(env, B[0]), want, 'restarted on the compacted log: the same alerts, Muted and figures')
    check(env.read_log(B[0]).raw == before, 'restarted: the log is not compacted again')
    check('Compacted' not in env.hpmond.stderr_text(), 'restarted: no second compaction')
    env.hpmond.stop()

    # a compacted log compacted again (keep shortened): the checkpoint is replaced by a later
    # one, and what hpmond shows is still the reference's
    start(env, cut_dir, env.write_config('[log]\nkeep = 200d\n', 'keep-200d.conf'))
    env.hpmond.wait_stderr(r'Compacted the log of ' + B[0], 0, 'a compacted log is compacted again under keep = 200d')
    check_equal(snapshot(env, B[0]), want, 'compacted twice: the same alerts, Muted and figures')
    check(env.read_log(B[0]).events[0][0] >= end + 3600 - 200 * DAY - 2, 'compacted twice: events older than 200 d are gone')
    env.hpmond.stop()
    start(env, cut_dir, env.write_config('[log]\nkeep = 200d\n', 'keep-200d.conf'))
    check_equal(snapshot(env, B[0]), want, 'compacted twice, restarted: the same alerts, Muted and figures')
    env.hpmond.stop()

    # a checkpoint this build cannot restore (damaged here; another build's layout is the
    # same case) is skipped once, with one warning, and replaced at the next compaction
    # rather than keeping the log from ever being compacted again
    compacted_text = env.read_log(B[0]).raw.decode()
    ck_lines = compacted_text.splitlines(keepends=True)
    first_ck = next(i for i, l in enumerate(ck_lines) if l.startswith('# checkpoint='))
    header = ck_lines.index('time,event,value\n')
    bad = list(ck_lines)
    mid = bad[first_ck + 1] if header - first_ck > 1 else bad[first_ck]
    pos = len(mid) // 2
    bad[bad.index(mid)] = mid[:pos] + ('A' if mid[pos] != 'A' else 'B') + mid[pos + 1:]
    bad_dir = os.path.join(env.tmp, 'bad-checkpoint')
    os.makedirs(os.path.join(bad_dir, 'devices'))
    with open(os.path.join(bad_dir, 'devices', t.log_name(B[0])), 'w') as f:
        f.write(''.join(bad))
    start(env, bad_dir, env.write_config('[log]\nkeep = 100d\n', 'keep-100d.conf'))
    env.hpmond.wait_stderr(r'Compacted the log of ' + B[0], 0, 'a log whose checkpoint is damaged is compacted')
    err = env.hpmond.stderr_text()
    check(len([l for l in err.splitlines() if 'checkpoint' in l and 'skipped' in l]) == 1,
          'the damaged checkpoint is reported once, not again by the compaction', err[-2000:])
    env.hpmond.stop()
    start(env, bad_dir, env.write_config('[log]\nkeep = 100d\n', 'keep-100d.conf'))
    check('skipped' not in env.hpmond.stderr_text(), 'restarted: the new checkpoint is restored without a warning',
          env.hpmond.stderr_text()[-2000:])
    env.hpmond.stop()

    # the newest 2000 lines always kept may begin inside a checkpoint: it is still read whole,
    # so a log of a checkpoint and 1999 - K/2 old events is left as it is, without an error
    events = ck_lines[header + 1:]
    n = (2000 + first_ck - header + 1998) // 2
    check(header - first_ck >= 2 and len(events) > n, f'B\'s checkpoint has {header - first_ck} lines (needs 2)')
    edge = ''.join(ck_lines[:header + 1] + events[:n])
    edge_dir = os.path.join(env.tmp, 'edge')
    os.makedirs(os.path.join(edge_dir, 'devices'))
    with open(os.path.join(edge_dir, 'devices', t.log_name(B[0])), 'w') as f:
        f.write(edge)
    env.state_dir = edge_dir
    env.hpmond.start(extra_args=('--config', env.write_config('[log]\nkeep = 30d\n', 'keep-30d.conf')))
    env.wait_props(env.wait_device(B[0]), Connected=False)
    err = env.hpmond.stderr_text()
    check('compact' not in err.lower() and 'skipped' not in err,
          'a log whose kept lines begin inside its checkpoint: no error, not compacted', err[-2000:])
    check(env.read_log(B[0]).raw.decode().startswith(edge), 'and the log is left as it was (appended to only)')
    env.hpmond.stop()

    # while running: a log that becomes due is compacted after an append, not by a timer
    now = time.time()
    # more lines than hpmond always keeps (2000), so there is something to drop
    a_text = ('# hpmon charge log v1\n' f'# address={A[0]}\n' f'# name={A[1]}\n' 'time,event,value\n'
              + f'{now - 665:.3f},connected,1\n'
              + ''.join(f'{now - 664 + 0.2 * i:.3f},battery,{100 - i % 100}\n' for i in range(2400))
              + ''.join(f'{now - 160 + 5 * i:.3f},battery,{89 - i}\n' for i in range(20)))
    with open(os.path.join(cut_dir, 'devices', t.log_name(A[0])), 'w') as f:
        f.write(a_text)
    env.mock.add_headset(*A, connected=True, percentage=70)
    # the directory cannot be synced after the rename (EIO from fsync() of a directory,
    # by a fault preloaded into hpmond while the switch file exists)
    fault = os.path.join(env.tmp, 'fail-dir-fsync')
    fault_env = {'LD_PRELOAD': os.environ['HPMON_FAULT_FSYNC'], 'HPMON_FAULT_DIR_FSYNC': fault,
                 'ASAN_OPTIONS': os.environ.get('ASAN_OPTIONS', '') + ':verify_asan_link_order=0'}
    start(env, cut_dir, env.write_config('[log]\nkeep = 10min\n', 'short.conf'), extra_env=fault_env)
    pa = env.wait_device(A[0])
    env.wait_props(pa, Connected=True, Percentage=70)
    check('Compacted the log of ' + A[0] not in env.hpmond.stderr_text(),
          'A: not due at start (oldest event 665 s old, keep 600 s + margin 75 s)')
    level = 69

    def compacted_now():
        nonlocal level
        if 'Compacted the log of ' + A[0] in env.hpmond.stderr_text():
            return True
        env.mock.set_percentage(A[0], level)
        env.wait_props(pa, Percentage=level)
        level -= 1
        return False
    open(fault, 'w').close()
    env.loop.until(compacted_now, 'A: compacted after a change once its oldest event is older than keep + margin',
                   timeout=60, poll=2.0)
    la = env.read_log(A[0])
    la.check_well_formed(*A)
    check(any(c.startswith('# checkpoint=') for c in la.comments), 'A: the log has a checkpoint')
    check(la.events and la.events[-1][1:] == ('battery', level + 1), 'A: the change that triggered it is in the new log',
          repr(la.events[-3:]))
    # nothing is appended to the new file while its name may not be durable
    mark = env.mark()
    env.mock.set_percentage(A[0], level)
    env.wait_manager_published('Logging', 'suspended: cannot write', mark)
    env.wait_props(pa, Percentage=level)
    check(env.read_log(A[0]).events[-1][1:] == ('battery', level + 1),
          'A: the directory could not be synced after the rename: logging is suspended, the change held')
    mark = env.mark()
    os.unlink(fault)
    env.wait_manager_published('Logging', 'active', mark)
    check(env.read_log(A[0]).events[-1][1:] == ('battery', level),
          'A: once the directory is synced, the held change goes to the new file')
    level -= 1
    env.mock.set_percentage(A[0], level)
    env.wait_props(pa, Percentage=level)
    check(env.read_log(A[0]).events[-1][1:] == ('battery', level), 'A: later changes go to the new file')
    env.hpmond.stop()


t.run(test)
