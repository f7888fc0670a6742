#!/usr/bin/python3
# Acknowledge, Mute and Unmute (issue 5): authorised through polkit
# (org.hpmon.Monitor1.manage-alerts), which a mocked polkitd answers.  Root is
# allowed without asking polkit, so the unprivileged cases run as nobody.
#   - ack as nobody: refused while polkitd is not running and while polkit says
#     no (NotAuthorized; `hpctl ack` exits 1 with one line); allowed when polkit
#     says yes: acknowledged=true, an "ack" line in the log, and still so after
#     hpmond restarts (same id, nothing announced at start);
#   - NoSuchAlert for an id that names no active alert (`hpctl ack` exits 1),
#     InvalidArgs for a malformed call;
#   - mute one kind (refused, then allowed, for nobody): the alert leaves
#     Manager.Alerts and Device.Alerts with no AlertRaised/AlertCleared; an
#     escalation while muted is not announced; after a restart still muted;
#     unmute (as root: polkit is not asked) brings the open episode back with
#     AlertRaised;
#   - mute a whole device ("" = every kind, Muted = ["all"]): a new episode while
#     muted is never announced; persisted; unmute announces it.
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note, skip  # noqa: E402

A = ('AA:BB:CC:DD:EE:A1', 'WH-1000XM4')
B = ('AA:BB:CC:DD:EE:B2', 'QuietComfort 45')
KIND = 'low-battery'
NOBODY = 'nobody'


def set_level(env, addr, value):
    path = t.device_path(addr)
    mark = env.mark()
    env.mock.set_percentage(addr, value)
    env.wait_published(path, 'Percentage', value, mark)


def one_line_error(r, what):
    """hpctl failed with status 1 and said why in exactly one line on stderr."""
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    check(r.returncode == 1 and len(lines) == 1 and not r.stdout.strip(),
          f'{what}: exit 1, one line on stderr, nothing on stdout',
          f'status {r.returncode}, stderr {r.stderr!r}, stdout {r.stdout!r}')
    return lines[0]


def ack_as_nobody(env, alert_id):
    return env.dbus_send(t.BUS_NAME, t.MANAGER_PATH, t.MANAGER_IFACE + '.Acknowledge', 'string:' + alert_id,
                         user=NOBODY)[0]


def active(env, alert_id):
    return next((a for a in env.manager_alerts() if a['id'] == alert_id), None)


def signals(env, since):
    """(member, id, severity) of AlertRaised/AlertCleared after mark `since`."""
    env.loop.drain()
    return [(x['signal'], x['alert']['id'], x['alert']['severity']) for x in env.alert_signals[since:]]


def restart(env):
    """hpmond stops and starts again: nothing may be announced at start."""
    env.hpmond.stop()
    mark = env.alert_mark()
    env.hpmond.start()
    env.barrier()
    check_equal(signals(env, mark), [], f'hpmond #{env.hpmond.runs}: no AlertRaised/AlertCleared at start')


def test(env):
    if os.getuid() != 0:
        skip('needs root to run commands as nobody')
    try:
        t.pwd.getpwnam(NOBODY)
    except KeyError:
        skip('no user nobody')
    env.mock.start()
    env.mock.add_headset(*A, connected=True, percentage=60)
    env.mock.add_headset(*B, connected=True, percentage=60)
    env.hpmond.start()
    pa, pb = env.wait_device(A[0]), env.wait_device(B[0])
    env.wait_props(pa, Percentage=60)
    env.wait_props(pb, Percentage=60)
    env.hpctl_as_user_ok(NOBODY)

    mark = env.alert_mark()
    for v in (50, 40, 30, 20, 18):
        set_level(env, A[0], v)
    aid = env.wait_alert_signal('AlertRaised', mark, address=A[0], kind=KIND)['id']
    note(f'A has alert {aid}')

    # -- Acknowledge as nobody: no polkitd at all is a refusal
    check_equal(ack_as_nobody(env, aid), t.ERROR_NOT_AUTHORIZED, 'nobody, no polkitd running: NotAuthorized')
    polkit = t.PolkitMock(env)
    polkit.start(allowed=())
    pmark = polkit.mark()
    r = env.hpctl('ack', aid, user=NOBODY)
    line = one_line_error(r, 'hpctl ack as nobody, polkit says no')
    check('authori' in line.lower(), 'hpctl ack says it is not authorised', line)
    checks = polkit.wait_checks(pmark)
    check(all(c['action'] == t.ACTION_MANAGE_ALERTS for c in checks),
          f'hpmond asked polkit about {t.ACTION_MANAGE_ALERTS}', repr(checks))
    check(checks[0]['subject'][0] in ('system-bus-name', 'unix-process'),
          'polkit was asked about the caller (system-bus-name or unix-process)', repr(checks[0]['subject']))
    check_equal(ack_as_nobody(env, aid), t.ERROR_NOT_AUTHORIZED, 'Acknowledge as nobody, polkit says no: NotAuthorized')
    check_equal(active(env, aid)['acknowledged'], False, 'refused: still not acknowledged')
    check_equal(env.read_log(A[0]).owner_events(), [], 'refused: nothing logged')

    # polkit says yes, but takes its time: hpmond keeps serving everyone meanwhile
    polkit.set_allowed([t.ACTION_MANAGE_ALERTS])
    polkit.call(t.MOCK_IFACE, 'SimulateHang', 'b', (True,))
    mark = env.alert_mark()
    pmark = polkit.mark()
    cmark = env.mark()
    ack = t.Proc(env.as_user(NOBODY, [t.HPCTL, 'ack', aid]), 'hpctl ack (as nobody)',
                 env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=env.bus.address, NO_COLOR='1'),
                 stdout=t.subprocess.PIPE, stderr=t.subprocess.PIPE)
    env.procs.append(ack)
    polkit.wait_checks(pmark)
    env.loop.until(lambda: bool(polkit.call(t.MOCK_IFACE, 'HaveHangingCalls')), 'polkit to hold the question')
    check(ack.alive(), 'hpctl ack waits while polkit has not answered')
    check_equal(active(env, aid)['acknowledged'], False,
                'while polkit thinks, hpmond answers others: not yet acknowledged')
    polkit.call(t.MOCK_IFACE, 'ReleaseHangingCalls')
    check_equal(ack.wait(), 0, 'hpctl ack as nobody, polkit says yes (late): exit 0')
    out, err = ack.popen.communicate()
    check(not err.strip(), 'hpctl ack said nothing on stderr', err)
    polkit.call(t.MOCK_IFACE, 'SimulateHang', 'b', (False,))
    check(polkit.checks(pmark), 'polkit was asked')
    env.wait_alerts(lambda al: any(a['id'] == aid and a['acknowledged'] for a in al), 'acknowledged=true in Alerts')
    check(True, 'Manager.Alerts: acknowledged=true')
    env.wait_manager_changed('Alerts', cmark, lambda al: any(x[0] == aid and x[6] for x in al))
    check(True, 'Manager.Alerts: PropertiesChanged carries acknowledged=true')
    check_equal([(a['id'], a['acknowledged']) for a in env.device_alerts(pa)], [(aid, True)],
                'Device.Alerts: acknowledged=true')
    check_equal(env.read_log(A[0]).owner_events(), [('ack', KIND)], 'the log has one "ack" line for low-battery')
    env.barrier()
    check_equal(signals(env, mark), [], 'acknowledging announces no AlertRaised/AlertCleared')
    cli = env.hpctl_json('alerts', '--json', user=NOBODY)
    check(any(a.get('id') == aid and a.get('acknowledged') is True for a in cli.get('alerts', [])),
          'hpctl alerts --json (as nobody: reading needs no authorisation): acknowledged true', repr(cli))
    got = env.dbus_send(t.BUS_NAME, t.MANAGER_PATH, t.MANAGER_IFACE + '.GetAlerts', 'boolean:true', user=NOBODY)
    check(got[0] is None and aid in got[1].stdout, 'GetAlerts(true) as nobody', got[1].stderr)

    # -- NoSuchAlert, InvalidArgs
    for bad in (A[0].replace(':', '') + '-low-battery-1', 'AABBCCDDEEFF-low-battery-1795000000000', 'nonsense', ''):
        check_equal(env.call_error(env.acknowledge, bad), t.ERROR_NO_SUCH_ALERT, f'Acknowledge("{bad}"): NoSuchAlert')
    r = env.hpctl('ack', A[0].replace(':', '') + '-fast-drain-1795000000000')
    one_line_error(r, 'hpctl ack of an unknown id')
    err, _ = env.dbus_send(t.BUS_NAME, t.MANAGER_PATH, t.MANAGER_IFACE + '.Acknowledge', 'int32:5')
    check_equal(err, t.ERROR_INVALID_ARGS, 'Acknowledge(int32): InvalidArgs')

    # -- the acknowledgement survives a restart
    restart(env)
    a = active(env, aid)
    check(a is not None and a['acknowledged'] is True, 'after a restart: same id, still acknowledged', repr(a))

    # -- mute one kind: refused, then allowed, for nobody
    polkit.set_allowed([])
    r = env.hpctl('mute', A[0], KIND, user=NOBODY)
    one_line_error(r, 'hpctl mute as nobody, polkit says no')
    err, _ = env.dbus_send(t.BUS_NAME, t.MANAGER_PATH, t.MANAGER_IFACE + '.Mute', 'string:' + A[0],
                           'string:' + KIND, user=NOBODY)
    check_equal(err, t.ERROR_NOT_AUTHORIZED, 'Mute as nobody, polkit says no: NotAuthorized')
    check_equal(env.device_props(pa)['Muted'], [], 'refused: Muted stays empty')
    polkit.set_allowed([t.ACTION_MANAGE_ALERTS])
    mark = env.alert_mark()
    r = env.hpctl('mute', A[0], KIND, user=NOBODY)
    check_equal(r.returncode, 0, 'hpctl mute ADDRESS low-battery as nobody, polkit says yes: exit 0')
    env.wait_props(pa, Muted=[KIND])
    check(True, 'Device.Muted = ["low-battery"]')
    check(active(env, aid) is None, 'the muted alert left Manager.Alerts')
    check_equal(env.device_alerts(pa), [], 'and Device.Alerts')
    check(not [x for x in env.hpctl_json('alerts', '--json')['alerts'] if x.get('id') == aid],
          'and hpctl alerts --json')
    check_equal(env.read_log(A[0]).owner_events()[-1], ('mute', KIND), 'the log has a "mute" line for low-battery')
    set_level(env, A[0], 10)
    set_level(env, A[0], 8)         # would escalate to critical
    env.barrier()
    check_equal(signals(env, mark), [], 'muting and an escalation while muted announce nothing')
    check(active(env, aid) is None, 'still not in Manager.Alerts while muted')

    restart(env)
    check_equal(env.device_props(pa)['Muted'], [KIND], 'after a restart: still muted')
    check(active(env, aid) is None, 'after a restart: still not in Manager.Alerts')

    pmark = polkit.mark()
    mark = env.alert_mark()
    env.unmute(A[0], KIND)
    back = env.wait_alert_signal('AlertRaised', mark, address=A[0], kind=KIND)
    check_equal((back['id'], back['severity']), (aid, 'critical'),
                'unmute announces the open episode again: same id, escalated while muted')
    check_equal(back['acknowledged'], False, 'the escalation undid the acknowledgement (worse news)')
    env.wait_props(pa, Muted=[])
    check(active(env, aid) is not None, 'back in Manager.Alerts')
    polkit.mark()
    check_equal(polkit.checks(pmark), [], 'root unmuted without polkit being asked')

    # -- mute a whole device
    mark = env.alert_mark()
    for v in (50, 40, 30, 20, 18):
        set_level(env, B[0], v)
    bid = env.wait_alert_signal('AlertRaised', mark, address=B[0], kind=KIND)['id']
    mark = env.alert_mark()
    r = env.hpctl('mute', B[0])
    check_equal(r.returncode, 0, 'hpctl mute ADDRESS (every kind): exit 0')
    env.wait_props(pb, Muted=['all'])
    check(True, 'Device.Muted = ["all"]')
    check(not [a for a in env.manager_alerts() if a['address'] == B[0]], 'B has nothing in Manager.Alerts')
    check_equal(env.device_alerts(pb), [], 'B: Device.Alerts empty')
    for v in (30, 40, 20, 18):      # the episode ends, a new one begins, all while muted
        set_level(env, B[0], v)
    env.barrier()
    check_equal(signals(env, mark), [], 'a device muted: its alerts come and go unannounced')
    restart(env)
    check_equal(env.device_props(pb)['Muted'], ['all'], 'after a restart: B still muted')
    mark = env.alert_mark()
    r = env.hpctl('unmute', B[0])
    check_equal(r.returncode, 0, 'hpctl unmute ADDRESS: exit 0')
    new = env.wait_alert_signal('AlertRaised', mark, address=B[0], kind=KIND)
    check(new['id'] != bid and new['raised'] > 0, 'unmute announces the episode that began while muted (a new id)',
          f'{new["id"]} vs {bid}')
    env.wait_props(pb, Muted=[])
    check_equal([a['id'] for a in env.manager_alerts() if a['address'] == B[0]], [new['id']],
                'B: Manager.Alerts has the new episode')
    kept = [a['id'] for a in env.get_alerts(True) if a['address'] == B[0]]
    check(bid in kept and new['id'] in kept, 'GetAlerts(true) keeps the episode that ended while muted', repr(kept))
    check_equal(env.read_log(B[0]).owner_events(), [('mute', ''), ('unmute', '')],
                'B: the log has "mute" and "unmute" lines for every kind')
    check_equal(env.read_log(A[0]).owner_events(), [('ack', KIND), ('mute', KIND), ('unmute', KIND)],
                'A: the owner\'s events in order')
    for addr in (A[0], B[0]):
        env.read_log(addr).check_well_formed(addr)

    # -- a cleared alert can no longer be acknowledged; malformed mutes
    set_level(env, B[0], 40)
    env.wait_alert_signal('AlertCleared', mark, address=B[0], kind=KIND)
    check_equal(env.call_error(env.acknowledge, new['id']), t.ERROR_NO_SUCH_ALERT,
                'Acknowledge a cleared alert: NoSuchAlert')
    check_equal(env.call_error(env.mute, 'not-an-address', ''), t.ERROR_INVALID_ARGS, 'Mute(bad address): InvalidArgs')
    check_equal(env.call_error(env.mute, A[0], 'no-such-kind'), t.ERROR_INVALID_ARGS, 'Mute(bad kind): InvalidArgs')
    check_equal(env.call_error(env.mute, '00:11:22:33:44:55', ''), t.ERROR_NO_SUCH_DEVICE,
                'Mute(unknown device): NoSuchDevice')
    check_equal(env.call_error(env.unmute, A[0], 'no-such-kind'), t.ERROR_INVALID_ARGS, 'Unmute(bad kind): InvalidArgs')
    r = env.hpctl('mute', A[0], 'no-such-kind')
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    check(r.returncode in (1, 2) and len(lines) == 1, 'hpctl mute with a bad kind: exit 1 or 2, one line',
          f'{r.returncode} {r.stderr!r}')
    env.hpmond.stop()


t.run(test)
