#!/usr/bin/python3
# A battery change: logged before it is published, then visible in
# `hpctl status --json`, `hpctl history --json` (with and without --since) and
# printed live by `hpctl monitor --json` (and plain `hpctl monitor`); a name
# change and a new headset reach the monitor too.
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, fail, note  # noqa: E402

ADDR = 'AA:BB:CC:DD:EE:FF'
NAME = 'WH-1000XM4'
ADDR2 = '00:1B:66:0A:0B:0C'
NAME2 = 'Jabra Elite 85h'


def json_lines(proc):
    out = []
    for line in proc.lines.lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            fail('hpctl monitor --json prints one JSON object per line', repr(line))
    return out


def wait_monitor(env, proc, pred, what):
    return env.loop.until(lambda: next((o for o in json_lines(proc) if pred(o)), None),
                          f'hpctl monitor --json to print {what}')


def test(env):
    env.mock.start()
    env.mock.add_headset(ADDR, NAME, connected=True, percentage=80)
    env.hpmond.start()
    path = env.wait_device(ADDR)
    env.wait_props(path, Connected=True, Percentage=80)

    mon = env.spawn_monitor('--json')
    plain = env.spawn_monitor()

    # One change, end to end.
    mark = env.mark()
    t0 = time.time()
    env.mock.set_percentage(ADDR, 75)
    env.wait_published(path, 'Percentage', 75, mark)
    # The change was appended before it was published: the line is there now.
    log = env.read_log(ADDR)
    check_equal([(e, v) for _, e, v in log.events][-1], ('battery', 75),
                'battery,75 is in the log when PropertiesChanged(Percentage=75) arrives')
    log.check_well_formed(ADDR, NAME)
    check_equal(log.values('battery'), [80, 75], 'battery values logged')
    t75 = log.events[-1][0]
    check(t0 - 1 <= t75 <= time.time() + 1, 'logged time is the time of the change', f'{t75} vs {t0}')
    lc = [c['changed']['LastChange'] for c in env.changes[mark:]
          if c['path'] == path and 'LastChange' in c['changed']]
    props = env.device_props(path)
    check(abs(props['LastChange'] - t75) < 0.0015, 'Device.LastChange equals the logged time',
          f'{props["LastChange"]} vs {t75} (published: {lc})')

    st = env.hpctl_json('status', '--json')
    d = [x for x in st['devices'] if x.get('address') == ADDR]
    check(len(d) == 1, 'hpctl status --json lists the headset', repr(st))
    check_equal((d[0]['connected'], d[0]['percentage']), (True, 75), 'hpctl status --json after the change')
    check(abs(float(d[0].get('last_change', 0)) - t75) < 0.0015, 'hpctl status --json last_change is the logged time',
          repr(d[0]))

    hist = env.hpctl_json('history', ADDR, '--json')
    check_equal(hist.get('address'), ADDR, 'hpctl history --json address')
    got = [(ev['event'], ev['value']) for ev in hist.get('events', [])]
    check_equal(got, [(e, v) for _, e, v in log.events], 'hpctl history --json events equal the log')
    for ev, (lt, _, _) in zip(hist['events'], log.events):
        if abs(float(ev['time']) - lt) >= 0.0015:
            fail('hpctl history --json times equal the logged times', f'{ev} vs {lt}')
    check(True, 'hpctl history --json times equal the logged times')
    since = env.hpctl_json('history', ADDR, '--since', f'{t75 - 0.0005:.4f}', '--json')
    check_equal([(ev['event'], ev['value']) for ev in since['events']], [('battery', 75)],
                'hpctl history --since T --json shows only events at or after T')
    r = env.hpctl('history', ADDR)
    check(r.returncode == 0 and r.stdout.strip(), 'hpctl history (table) prints something and exits 0',
          f'{r.returncode} {r.stderr}')

    o = wait_monitor(env, mon, lambda o: o.get('property') == 'Percentage' and o.get('value') == 75, 'Percentage 75')
    check_equal(o.get('address'), ADDR, 'monitor --json line carries the address')
    check(isinstance(o.get('time'), (int, float)), 'monitor --json line carries a numeric time', repr(o))
    env.loop.until(lambda: any('75' in ln for ln in plain.lines.lines), 'plain hpctl monitor to print a line with 75')
    check(True, 'plain hpctl monitor printed the change: ' + next(ln for ln in plain.lines.lines if '75' in ln))

    # A few more, in order, each one line.
    mark = env.mark()
    for v in (70, 65, 60):
        env.mock.set_percentage(ADDR, v)
    env.wait_published(path, 'Percentage', 60, mark)
    wait_monitor(env, mon, lambda o: o.get('property') == 'Percentage' and o.get('value') == 60, 'Percentage 60')
    seen = [o['value'] for o in json_lines(mon) if o.get('property') == 'Percentage']
    check_equal(seen, [75, 70, 65, 60], 'monitor printed each battery change once, in order')
    check_equal(env.read_log(ADDR).values('battery'), [80, 75, 70, 65, 60], 'each change logged once, in order')

    # One PropertiesChanged per change: the level, LastChange and exactly the figures it
    # moved (80 → 50 is 0.3 cycles drained), not a second signal for the figures.
    before = env.device_props(path)
    mark = env.mark()
    env.mock.set_percentage(ADDR, 50)
    env.wait_published(path, 'Percentage', 50, mark)
    env.barrier()           # hpmond has handled the change and sent all it sends for it
    env.loop.drain()
    after = env.device_props(path)
    sigs = [c['changed'] for c in env.changes[mark:] if c['path'] == path]
    moved = {k for k in ('TimeToEmpty', 'Health', 'TypicalChargeTime', 'Cycles') if after[k] != before[k]}
    check(moved, 'a level change moves a figure (the scenario works)', repr((before, after)))
    check(len(sigs) == 1, 'one PropertiesChanged for one level change', repr(sigs))
    check_equal(set(sigs[0]) - {'Percentage', 'LastChange'}, moved, 'it carries the figures that moved, and only them')

    # Connected and Name changes reach the monitor too.
    mark = env.mark()
    env.mock.disconnect(ADDR)
    env.wait_published(path, 'Connected', False, mark)
    wait_monitor(env, mon, lambda o: o.get('property') == 'Connected' and o.get('value') is False, 'Connected false')
    check(True, 'monitor printed Connected false')
    mark = env.mark()
    env.mock.set_device_prop(ADDR, 'Alias', t.dbus.String('My XM4'))
    env.wait_published(path, 'Name', 'My XM4', mark)
    wait_monitor(env, mon, lambda o: o.get('property') == 'Name' and o.get('value') == 'My XM4', 'Name "My XM4"')
    check(True, 'monitor printed the new Name')

    # A new headset appears while the monitor runs.
    env.mock.add_headset(ADDR2, NAME2, connected=True, percentage=40)
    path2 = env.wait_device(ADDR2)
    env.wait_props(path2, Percentage=40, Connected=True)
    o = wait_monitor(env, mon, lambda o: o.get('event') == 'added', '{"event":"added",...}')
    check_equal(o.get('address'), ADDR2, 'monitor --json prints {"event":"added"} with the new address')

    check(mon.alive() and plain.alive(), 'both monitors still running')
    check(not mon.errs.lines, 'hpctl monitor --json wrote nothing on stderr', repr(mon.errs.lines))
    for p in (mon, plain):
        p.send_signal(t.signal.SIGINT)
        rc = p.wait()
        note(f'hpctl monitor exited {rc} on SIGINT')
    env.hpmond.stop()


t.run(test)
