#!/usr/bin/python3
# hpctl analyze runs the daemon's analyzer offline: no bus, no daemon. The JSON contract
# (DESIGN.md): one object with a "findings" array whose items have kind, time (Unix
# seconds, a number), severity, evidence (an object of numbers) and advice (an array).
# Malformed lines are reported as file:line on stderr and skipped; an unreadable log is a
# clear error and a non-zero exit, the others are still analyzed; --until goes on past
# the last event (deep-discharge-risk needs three days of nothing); the config file's
# thresholds apply, and a bad one is refused with its file and line.
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
HPCTL = os.environ.get('HPCTL') or os.path.join(HERE, '..', '..', 'client', 'hpctl')
T0 = 1788220800
failures = 0


def check(cond, what, detail=''):
    global failures
    print(('ok   ' if cond else 'FAIL ') + what + ('' if cond else f': {detail}'))
    if not cond:
        failures += 1


def hpctl(*args):
    env = dict(os.environ, LC_ALL='C', NO_COLOR='1')
    return subprocess.run([HPCTL, 'analyze', *args], capture_output=True, text=True, env=env, timeout=60)


def write_log(path, lines, address='AA:BB:CC:DD:EE:FF'):
    with open(path, 'w') as f:
        f.write(f'# hpmon charge log v1\n# address={address}\n# name=Test\ntime,event,value\n')
        for line in lines:
            f.write(line + '\n')


def ev(minutes, kind, value):
    return f'{T0 + minutes * 60:.3f},{kind},{value}'


def main():
    with tempfile.TemporaryDirectory() as tmp:
        # a charge that stops at 60 %: rising one point every 1.2 minutes, then flat
        stall = os.path.join(tmp, 'AA_BB_CC_DD_EE_FF.csv')
        lines = [ev(0, 'connected', 1), ev(0, 'battery', 40)]
        lines += [ev(1.2 * i, 'battery', 40 + i) for i in range(1, 21)]
        lines += ['not a line', ev(30, 'battery', 250), ev(90, 'connected', 0)]
        write_log(stall, lines)

        r = hpctl('--json', stall)
        check(r.returncode == 0, 'a readable log exits 0', r.stderr)
        out = json.loads(r.stdout)
        findings = out.get('findings')
        check(isinstance(findings, list), 'one object with a findings array', r.stdout)
        stalls = [f for f in findings if f['kind'] == 'charge-stall' and f['state'] == 'raised']
        check(len(stalls) == 1, 'the stall is found', findings)
        f = stalls[0]
        # the peak at 24 min, then charge-stall.min-wait (45 min, the longest part of the wait here)
        check(isinstance(f['time'], (int, float)) and abs(f['time'] - (T0 + 69 * 60)) < 1,
              'time is Unix seconds, when the wait ran out', f['time'])
        check(f['severity'] in ('info', 'warning', 'critical'), 'severity', f['severity'])
        check(isinstance(f['evidence'], dict) and all(isinstance(v, (int, float)) for v in f['evidence'].values()),
              'evidence is an object of numbers', f['evidence'])
        check(f['evidence'].get('level_pct') == 60, 'the evidence names the level', f['evidence'])
        check([a['step'] for a in f['advice']] == ['Step 1', 'Step 2', 'Step 3'], 'advice is the guide steps', f['advice'])
        check(f'{stall}:27: malformed line' in r.stderr and f'{stall}:28: value out of range' in r.stderr,
              'malformed lines are reported with file:line', r.stderr)
        check(r.stderr.count('skipped') == 2, 'both bad lines, and nothing else', r.stderr)

        t = hpctl(stall)
        check(t.returncode == 0 and 'charging stopped before full' in t.stdout and 'Inspect the Charging Port' in t.stdout,
              'text: meaning and guide steps', t.stdout)
        check('flat 45 min' in t.stdout, 'text: the evidence in words and units', t.stdout)
        check(t.stdout.rstrip('\n').endswith('/headphone-charging-guide.txt') and
              t.stdout.count("The guide's steps: ") == 1, "text: the installed guide's path, once, at the end", t.stdout)

        # left empty: deep-discharge-risk only appears when analysis goes on past the log
        empty = os.path.join(tmp, 'empty.csv')
        write_log(empty, [ev(0, 'connected', 1), ev(0, 'battery', 6), ev(10, 'battery', 4), ev(15, 'connected', 0)],
                  address='11:22:33:44:55:66')
        kinds = [f['kind'] for f in json.loads(hpctl('--json', empty).stdout)['findings']]
        check('deep-discharge-risk' not in kinds, 'no deep discharge at the last event', kinds)
        later = f'{T0 + 10 * 60 + 3 * 86400 + 60}'
        found = json.loads(hpctl('--json', '--until', later, empty).stdout)['findings']
        deep = [f for f in found if f['kind'] == 'deep-discharge-risk']
        check(len(deep) == 1 and abs(deep[0]['time'] - (T0 + 600 + 3 * 86400)) < 1, '--until: deep discharge after 3 days',
              found)
        check(all(f['device'] == '11:22:33:44:55:66' for f in found), 'the device comes from the log header', found)

        # several logs, one unreadable: the others are analyzed, the exit is non-zero
        r = hpctl('--json', stall, os.path.join(tmp, 'missing.csv'), empty)
        check(r.returncode != 0, 'an unreadable log: non-zero exit', r.returncode)
        check('missing.csv' in r.stderr and 'No such file' in r.stderr, 'an unreadable log: a clear error', r.stderr)
        logs = {f['log'] for f in json.loads(r.stdout)['findings']}
        check(logs == {stall, empty}, 'the other logs are still analyzed', logs)

        # the config file: a threshold changes the answer; a bad file is refused with file:line
        conf = os.path.join(tmp, 'hpmon.conf')
        with open(conf, 'w') as f:
            f.write('[charge-stall]\nenabled = no\n')
        kinds = [f['kind'] for f in json.loads(hpctl('--json', '--config', conf, stall).stdout)['findings']]
        check('charge-stall' not in kinds, '--config: charge-stall disabled', kinds)
        # a headset's own section applies to its log under any file name: the address is in
        # the log's "# address=" header
        copy = os.path.join(tmp, 'copied-from-another-machine.csv')
        shutil.copy(stall, copy)
        with open(conf, 'w') as f:
            f.write('[device AA:BB:CC:DD:EE:FF]\ncharge-stall.enabled = no\n')
        for p in (stall, copy):
            kinds = [f['kind'] for f in json.loads(hpctl('--json', '--config', conf, p).stdout)['findings']]
            check('charge-stall' not in kinds, f'[device ...] applied to {os.path.basename(p)}', kinds)
        check(all(a.get('ref') == a['step'] for a in stalls[0]['advice']), 'advice items also carry "ref", as hpctl alerts --json',
              stalls[0]['advice'])
        r = subprocess.run([HPCTL, 'analyze', '--help'], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and r.stdout.startswith('usage: hpctl analyze') and '--config' in r.stdout,
              'hpctl analyze --help prints its usage and exits 0', (r.returncode, r.stdout, r.stderr))
        r = subprocess.run([HPCTL, 'notify', '--bogus'], capture_output=True, text=True, timeout=60)
        check(r.returncode == 2 and "'--bogus'" in r.stderr, 'an unknown option is named as given', r.stderr)
        r = hpctl('-jx', stall)
        check(r.returncode == 2 and "'-x'" in r.stderr, 'an unknown letter in a cluster is named alone', r.stderr)
        with open(conf, 'w') as f:
            f.write('[charge-stall]\nfactor = 2\nfactr = 3\n')
        r = hpctl('--config', conf, stall)
        check(r.returncode != 0 and f'{conf}:3:' in r.stderr and 'factr' in r.stderr, 'a bad config: file:line', r.stderr)

        r = hpctl('--until', 'someday', stall)
        check(r.returncode == 2 and 'someday' in r.stderr, 'a bad --until is a usage error', r.stderr)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
