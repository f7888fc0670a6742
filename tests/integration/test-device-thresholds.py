#!/usr/bin/python3
# Thresholds per headset: a [device ADDRESS] section of the config file gives one headset
# its own values over the global ones (here: low-battery warns at 50 % for A only).
# A raises low-battery at 45 %; B, at the same levels, does not — until it falls below
# the global 20 %. `hpctl analyze --config` uses the same section for A's log.
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal  # noqa: E402

A = 'AA:BB:CC:DD:EE:D1'
B = 'AA:BB:CC:DD:EE:D2'


def drain(env, path, address, levels):
    for v in levels:
        m = env.mark()
        env.mock.set_percentage(address, v)
        env.wait_published(path, 'Percentage', v, m)


def test(env):
    cfg = env.write_config('[low-battery]\nwarning = 20\nconfirm = 0s\n\n'
                           f'[device {A.lower()}]\nlow-battery.warning = 50\n')
    env.mock.start()
    env.mock.add_headset(A, 'Own thresholds', connected=True, percentage=80)
    env.mock.add_headset(B, 'Global thresholds', connected=True, percentage=80)
    env.hpmond.start(extra_args=('--config', cfg))
    pa, pb = env.wait_device(A), env.wait_device(B)

    mark = env.alert_mark()
    drain(env, pa, A, (60, 45))
    drain(env, pb, B, (60, 45))
    alert = env.wait_alert_signal('AlertRaised', mark, address=A, kind='low-battery')
    check_equal(alert['evidence'].get('threshold_pct'), 50.0, 'A warns at its own 50 %')
    env.barrier()
    check_equal(env.alert_signals_since(mark, 'AlertRaised', address=B), [], 'B at 45 % raises nothing')

    drain(env, pb, B, (18,))
    alert = env.wait_alert_signal('AlertRaised', mark, address=B, kind='low-battery')
    check_equal(alert['evidence'].get('threshold_pct'), 20.0, 'B warns at the global 20 %')
    env.hpmond.stop()

    r = env.hpctl('analyze', '--json', '--config', cfg, env.log_path(A))
    check(r.returncode == 0, 'hpctl analyze reads A\'s log', r.stderr)
    found = [f for f in json.loads(r.stdout)['findings'] if f['kind'] == 'low-battery']
    check(bool(found) and found[0]['evidence'].get('threshold_pct') == 50,
          'hpctl analyze applies A\'s own section too', r.stdout[:400])


t.run(test)
