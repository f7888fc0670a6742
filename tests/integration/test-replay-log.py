#!/usr/bin/python3
# hpmond starts with a charge log from before and a bluetoothd that does not
# show the headset: it replays the log and publishes the device at once (last
# level, name from the header).  The log has a line that does not parse (warned
# about with file and line number), an event of a later version (skipped with a
# warning) and a torn last line (ignored, then truncated away before the next
# append).  When the headset shows up its new level goes on a line of its own.
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

ADDR = 'AA:BB:CC:DD:EE:FF'


def test(env):
    now = time.time()
    t1, t2, t3, t4 = now - 7200, now - 3600, now - 3000, now - 1800
    good = ('# hpmon charge log v1\n'
            f'# address={ADDR}\n'
            '# name=Old Name\n'
            'time,event,value\n'
            f'{t1:.3f},connected,1\n'
            f'{t1:.3f},battery,90\n'
            'this line does not parse\n'          # line 7
            f'{t2:.3f},battery,85\n'
            f'{t3:.3f},sleep,1\n'                 # an event of a later version
            f'{t4:.3f},battery,75\n')
    torn = f'{now - 60:.3f},batt'
    devdir = os.path.join(env.state_dir, 'devices')
    os.makedirs(devdir, exist_ok=True)
    path_log = env.log_path(ADDR)
    with open(path_log, 'w') as f:
        f.write(good + torn)

    env.mock.start()              # bluetoothd without this headset
    env.hpmond.start()
    # READY=1 comes after the logs are replayed: the device is there at once.
    path = env.get_device(ADDR)
    check_equal(path, t.device_path(ADDR), 'the logged headset is published as soon as hpmond is ready')
    props = env.device_props(path)
    check_equal(props['Address'], ADDR, 'published from its log before BlueZ shows it: Address')
    check_equal(props['Name'], 'Old Name', 'Name from the log header')
    check_equal(props['Percentage'], 75, 'Percentage is the last logged level (the torn line ignored)')
    note(f'replayed device: {props}')
    err = env.hpmond.stderr_text()
    bad = [ln for ln in err.splitlines() if re.match(r'<[0-4]>', ln) and 'AA_BB_CC_DD_EE_FF.csv' in ln and re.search(r'\b7\b', ln)]
    check(bad, 'the bad line is reported with file and line number (…AA_BB_CC_DD_EE_FF.csv…7)', err)
    note(f'reported: {bad[0]}')
    check(any(re.match(r'<[0-4]>', ln) and 'sleep' in ln for ln in err.splitlines()),
          'the unknown event is skipped with a warning that names it', err)
    hist = env.history(path, 0.0)
    check_equal([(e, v) for _, e, v in hist if e == 'battery'], [('battery', 90), ('battery', 85), ('battery', 75)],
                'GetHistory: the logged levels, no torn or bad line')
    check(all(e in ('connected', 'battery') for _, e, _ in hist), 'GetHistory has no unknown events', repr(hist))
    st = env.hpctl_json('status', '--json')
    d = [x for x in st['devices'] if x['address'] == ADDR]
    check(len(d) == 1 and d[0]['percentage'] == 75, 'hpctl status --json shows the replayed device', repr(st))
    text = open(path_log).read()
    if text != good + torn:
        note('hpmond changed the log at start:\n' + text[len(good):])

    # The headset shows up, lower: the torn fragment is gone, the new line whole.
    mark = env.mark()
    env.mock.add_headset(ADDR, 'WH-1000XM4', connected=True, percentage=70)
    env.wait_published(path, 'Percentage', 70, mark)
    env.wait_props(path, Name='WH-1000XM4', Connected=True, Percentage=70)
    check(True, 'Name follows the BlueZ alias once the headset shows up')
    text = open(path_log).read()
    check(text.startswith(good), 'the lines before the torn one are kept as they were', text)
    tail = text[len(good):]
    check(torn not in text, 'the torn fragment was truncated away', repr(tail))
    check(text.endswith('\n'), 'the log ends with a newline', repr(tail))
    new = [ln for ln in tail.splitlines() if not ln.startswith('#')]
    for ln in tail.splitlines():
        check(ln.startswith('#') or t.ChargeLog.LINE.match(ln), f'appended line is whole: {ln}', repr(tail))
    evs = [tuple(ln.split(',')[1:]) for ln in new]
    check_equal(evs[-2:], [('connected', '1'), ('battery', '70')], 'appended: connected,1 then battery,70')
    check(('battery', '75') not in evs, 'the replayed level is not logged again', repr(evs))
    env.hpmond.stop()


t.run(test)
