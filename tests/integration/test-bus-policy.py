#!/usr/bin/python3
# The project's bus policy (dbus/org.hpmon.Monitor1.conf.in, @HPMON_USER@ = the
# user running the test) on a bus with Debian's default system policy:
#   - the service user may own org.hpmon.Monitor1; nobody may not (AccessDenied),
#     whether or not hpmond runs;
#   - nobody may read: `hpctl status --json`, `hpctl history --json`;
#   - nobody may not call anything else (Properties.Set).
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note, skip  # noqa: E402

ADDR = 'AA:BB:CC:DD:EE:FF'
NOBODY = 'nobody'


def dbus_send_as_nobody(env, *args):
    argv = env.as_user(NOBODY, [shutil.which('dbus-send') or '/usr/bin/dbus-send', '--system', '--print-reply',
                                *args])
    r = subprocess.run(argv, capture_output=True, text=True, timeout=t.TIMEOUT,
                       env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=env.bus.address))
    note(f'$ dbus-send {" ".join(args)} (as {NOBODY}) → exit {r.returncode}: {(r.stdout + r.stderr).strip()}')
    return r


def request_name_as_nobody(env):
    return dbus_send_as_nobody(env, '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
                               'org.freedesktop.DBus.RequestName', 'string:' + t.BUS_NAME, 'uint32:0')


def test(env):
    if os.getuid() != 0:
        skip('needs root to run commands as nobody')
    try:
        t.pwd.getpwnam(NOBODY)
    except KeyError:
        skip('no user nobody')
    if not shutil.which('dbus-send'):
        skip('dbus-send not found')
    # nobody must be able to reach the bus socket and run hpctl.
    probe = subprocess.run(env.as_user(NOBODY, ['/usr/bin/test', '-w', env.bus.socket_path, '-a', '-x', t.HPCTL]))
    hpctl = t.HPCTL
    if probe.returncode != 0:
        hpctl = os.path.join(env.tmp, 'hpctl')
        shutil.copy(t.HPCTL, hpctl)
        os.chmod(hpctl, 0o755)
        note(f'{NOBODY} cannot run {t.HPCTL} where it is; using a copy in {env.tmp}')
        t.HPCTL = hpctl

    # Before hpmond runs: nobody is refused the name, the service user is not.
    r = request_name_as_nobody(env)
    check(r.returncode != 0 and 'AccessDenied' in r.stderr, f'{NOBODY} may not own {t.BUS_NAME} (AccessDenied)',
          r.stderr)
    got = env.conn.call_blocking(t.DBUS_NAME, t.DBUS_PATH, t.DBUS_NAME, 'RequestName', 'su', (t.BUS_NAME, 4))
    check_equal(int(got), 1, f'the service user ({env.bus.user}) may own {t.BUS_NAME} (primary owner)')
    env.conn.call_blocking(t.DBUS_NAME, t.DBUS_PATH, t.DBUS_NAME, 'ReleaseName', 's', (t.BUS_NAME,))
    env.wait_name(t.BUS_NAME, False)

    env.mock.start()
    env.mock.add_headset(ADDR, 'WH-1000XM4', connected=True, percentage=80)
    env.hpmond.start()
    path = env.wait_device(ADDR)
    env.wait_props(path, Connected=True, Percentage=80)

    st = env.hpctl_json('status', '--json', user=NOBODY)
    d = [x for x in st.get('devices', []) if x.get('address') == ADDR]
    check(len(d) == 1 and d[0]['percentage'] == 80 and d[0]['connected'] is True,
          f'{NOBODY} can read `hpctl status --json`', repr(st))
    h = env.hpctl_json('history', ADDR, '--json', user=NOBODY)
    check_equal([(e['event'], e['value']) for e in h['events']], [('connected', 1), ('battery', 80)],
                f'{NOBODY} can read `hpctl history --json` (GetHistory)')
    r = env.hpctl('status', user=NOBODY)
    check(r.returncode == 0 and ADDR in r.stdout, f'{NOBODY} can read `hpctl status`', r.stderr)

    # A user's `hpctl monitor` (the notification agent's case) receives the signals.
    mon = env.spawn_monitor('--json', user=NOBODY)
    mark = env.mark()
    env.mock.set_percentage(ADDR, 77)
    env.wait_published(path, 'Percentage', 77, mark)
    env.loop.until(lambda: any('"Percentage"' in ln and '77' in ln for ln in mon.lines.lines),
                   f'hpctl monitor --json as {NOBODY} to print Percentage 77')
    check(True, f'{NOBODY} sees changes live with `hpctl monitor --json`')
    mon.end(t.signal.SIGINT)

    r = request_name_as_nobody(env)
    check(r.returncode != 0 and 'AccessDenied' in r.stderr,
          f'{NOBODY} may not own {t.BUS_NAME} while hpmond runs either (AccessDenied)', r.stderr)
    r = dbus_send_as_nobody(env, '--dest=' + t.BUS_NAME, path, 'org.freedesktop.DBus.Properties.Set',
                            'string:' + t.DEVICE_IFACE, 'string:Percentage', 'variant:int32:5')
    check(r.returncode != 0 and 'AccessDenied' in r.stderr, f'{NOBODY} may not call Properties.Set (AccessDenied)',
          r.stderr)
    r = dbus_send_as_nobody(env, '--dest=' + t.BUS_NAME, t.MANAGER_PATH, 'org.freedesktop.DBus.Properties.Get',
                            'string:' + t.MANAGER_IFACE, 'string:Version')
    check(r.returncode == 0, f'{NOBODY} may Get properties with dbus-send', r.stderr)
    check_equal(env.device_props(path)['Percentage'], 77, 'hpmond unchanged by the refused calls')
    env.hpmond.stop()


t.run(test)
