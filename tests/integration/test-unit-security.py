#!/usr/bin/python3
# The installed unit is hardened: `systemd-analyze security --offline=yes` scores it at
# most 1.2 (issue 6's target; systemd-hostnamed scores 1.5), and it keeps the settings a
# notify service on the system bus needs.
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

UNIT = os.environ.get('HPMON_UNIT', os.path.join(t.TOP, 'systemd', 'hpmond.service'))


def test(env):
    if not os.path.exists(UNIT):
        t.fail(f'{UNIT} is not built (make builds it from systemd/hpmond.service.in)')
    if not os.path.exists('/usr/bin/systemd-analyze'):
        t.skip('systemd-analyze is not installed')
    r = subprocess.run(['/usr/bin/systemd-analyze', 'security', '--offline=yes', '--no-pager', UNIT],
                       capture_output=True, text=True)
    m = re.search(r'Overall exposure level for \S+: ([0-9.]+)', r.stdout)
    check(m is not None, 'systemd-analyze prints an overall exposure level', r.stdout[-500:] + r.stderr)
    score = float(m.group(1))
    note(f'exposure level {score}')
    check(score <= 1.2, 'exposure level is at most 1.2', str(score))
    r = subprocess.run(['/usr/bin/systemd-analyze', 'security', '--offline=yes', '--threshold=12', '--no-pager', UNIT],
                       capture_output=True, text=True)
    check_equal(r.returncode, 0, 'systemd-analyze --threshold=12 accepts the unit')

    unit = open(UNIT).read()
    for line in ('Type=notify', 'BusName=org.hpmon.Monitor1', 'StateDirectory=hpmon', 'StateDirectoryMode=0700',
                 'CapabilityBoundingSet=', 'RestrictAddressFamilies=AF_UNIX', 'ProtectSystem=strict',
                 'PrivateNetwork=yes'):
        check(re.search(r'^' + re.escape(line) + r'\s*$', unit, re.M) is not None, f'the unit has {line}')
    check('@' not in re.sub(r'@system-service|@privileged|@resources|@[a-z-]+', '', unit.split('[Service]')[1]),
          'every @VARIABLE@ was substituted')


t.run(test)
