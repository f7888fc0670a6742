#!/usr/bin/python3
# Unprivileged callers (nobody, through setpriv) against the project's own bus policy.
#
#   - Reading works: `hpctl status --json`, `hpctl history --json`, and every member the
#     policy opens to everyone (Get, GetAll, Introspect, Peer, GetManagedObjects and the
#     methods it lists) on the manager and on a device: none is refused by the bus.
#   - Everything else is refused by the bus with org.freedesktop.DBus.Error.AccessDenied
#     before it reaches hpmond: Properties.Set of every property hpmond exports, every
#     method hpmond exports that the policy does not list, made-up members and
#     interfaces, a call with no interface at all (which a careless policy lets
#     through), and the same calls addressed to hpmond's unique name instead of
#     org.hpmon.Monitor1.
#   - Owning org.hpmon.Monitor1 is refused, with every RequestName flag, before and
#     while hpmond runs; hpmond keeps its name.
# Which members are open is read from the policy file itself (its default context),
# and which exist from hpmond's live introspection, so a method added to the daemon is
# checked at once: refused unless the policy lists it.
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note, skip  # noqa: E402

dbus = t.dbus
ADDR = 'AA:BB:CC:DD:EE:FF'
NOBODY = 'nobody'
DENIED = 'org.freedesktop.DBus.Error.AccessDenied'
# What everybody must be able to read, whatever else the policy opens.
MUST_READ = {('org.freedesktop.DBus.Properties', 'Get'), ('org.freedesktop.DBus.Properties', 'GetAll'),
             ('org.freedesktop.DBus.Introspectable', 'Introspect'), ('org.freedesktop.DBus.Peer', 'Ping'),
             ('org.freedesktop.DBus.ObjectManager', 'GetManagedObjects'), (t.MANAGER_IFACE, 'GetDevice'),
             (t.DEVICE_IFACE, 'GetHistory')}

# Run as nobody: makes each call of a JSON list and prints the outcome of each.
CALLER = r'''
import dbus, json, os, sys
c = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
out = []
for dest, path, iface, member, sig, args in json.loads(sys.argv[1]):
    m = dbus.lowlevel.MethodCallMessage(dest, path, iface or None, member)
    if sig:
        conv = {"s": dbus.String, "d": dbus.Double, "u": dbus.UInt32, "b": dbus.Boolean, "v": lambda x: x}
        m.append(*[conv[s](a) for s, a in zip(sig, args)], signature=sig)
    try:
        c.send_message_with_reply_and_block(m, 20000)
        out.append("ok")
    except dbus.DBusException as e:
        out.append(e.get_dbus_name())
print(json.dumps(out))
'''


def policy_open_members():
    """(interface, member or None) pairs the policy's default context opens on our name."""
    root = ET.fromstring(_strip_doctype(t._policy_text('root')))
    opened = set()
    for pol in root.findall('policy'):
        if pol.get('context') != 'default':
            continue
        for rule in pol:
            if rule.tag == 'allow' and rule.get('send_destination') == t.BUS_NAME:
                opened.add((rule.get('send_interface'), rule.get('send_member')))
    return opened


def _strip_doctype(text):
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith(('<?xml', '<!DOCTYPE', '"http'))]
    return '\n'.join(lines)


def is_open(opened, iface, member):
    return any(i == iface and (m is None or m == member) for i, m in opened)


def exported(env, path):
    """{interface: {'methods': {name: in_sig}, 'props': [names]}} from hpmond's Introspect."""
    xml = str(env.call(path, 'org.freedesktop.DBus.Introspectable', 'Introspect'))
    out = {}
    for iface in ET.fromstring(_strip_doctype(xml)).findall('interface'):
        methods = {m.get('name'): ''.join(a.get('type') for a in m.findall('arg') if a.get('direction', 'in') == 'in')
                   for m in iface.findall('method')}
        props = [p.get('name') for p in iface.findall('property')]
        out[iface.get('name')] = {'methods': methods, 'props': props}
    return out


def dummy_args(sig):
    vals = {'s': ADDR, 'd': 0.0, 'u': 0, 'b': False}
    if all(ch in vals for ch in sig):
        return sig, [vals[ch] for ch in sig]
    return '', []       # an argument we cannot make: call without (hpmond says InvalidArgs)


def run_as_nobody(env, calls):
    argv = env.as_user(NOBODY, [t.PYTHON3, '-c', CALLER, json.dumps(calls)])
    r = subprocess.run(argv, capture_output=True, text=True, timeout=t.TIMEOUT * 3,
                       env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=env.bus.address))
    if r.returncode != 0:
        t.fail(f'the calls as {NOBODY} did not run', r.stderr)
    return json.loads(r.stdout)


def run_request_names(env, what):
    """RequestName(org.hpmon.Monitor1) as nobody with every combination of flags."""
    got = run_as_nobody(env, [[t.DBUS_NAME, t.DBUS_PATH, t.DBUS_NAME, 'RequestName', 'su', [t.BUS_NAME, flags]]
                              for flags in range(8)])
    check_equal(got, [DENIED] * 8, f'{NOBODY} may not own {t.BUS_NAME} with any RequestName flags ({what})')


def test(env):
    if os.getuid() != 0:
        skip('needs root to run commands as nobody')
    try:
        t.pwd.getpwnam(NOBODY)
    except KeyError:
        skip('no user nobody')
    probe = subprocess.run(env.as_user(NOBODY, ['/usr/bin/test', '-x', t.HPCTL]))
    if probe.returncode != 0:
        hpctl = os.path.join(env.tmp, 'hpctl')
        shutil.copy(t.HPCTL, hpctl)
        os.chmod(hpctl, 0o755)
        t.HPCTL = hpctl
        note(f'{NOBODY} cannot run hpctl where it is built; using a copy in {env.tmp}')

    run_request_names(env, 'hpmond not running')
    env.mock.start()
    env.mock.add_headset(ADDR, 'WH-1000XM4', connected=True, percentage=80)
    env.hpmond.start()
    path = env.wait_device(ADDR)
    env.wait_props(path, Connected=True, Percentage=80)
    owner = env.name_owner(t.BUS_NAME)

    st = env.hpctl_json('status', '--json', user=NOBODY)
    check([d['percentage'] for d in st['devices'] if d['address'] == ADDR] == [80], f'{NOBODY}: hpctl status --json', repr(st))
    h = env.hpctl_json('history', ADDR, '--json', user=NOBODY)
    check([(e['event'], e['value']) for e in h['events']][:2] == [('connected', 1), ('battery', 80)],
          f'{NOBODY}: hpctl history --json', repr(h))

    opened = policy_open_members()
    note('the policy opens to everyone: ' + ', '.join(f'{i}.{m or "*"}' for i, m in sorted(opened, key=str)))
    for i, m in sorted(MUST_READ):
        check(is_open(opened, i, m), f'the policy lets everyone call {i}.{m}')

    calls, expect = [], []
    for p in (t.MANAGER_PATH, path):
        for iface, members in exported(env, p).items():
            for name, sig in sorted(members['methods'].items()):
                if iface == 'org.freedesktop.DBus.Properties' and name == 'Set':
                    continue
                s, a = dummy_args(sig)
                if iface == t.DEVICE_IFACE and name == 'GetHistory':
                    s, a = 'd', [0.0]
                calls.append([t.BUS_NAME, p, iface, name, s, a])
                expect.append('open' if is_open(opened, iface, name) else 'denied')
            for prop in members['props']:
                calls.append([t.BUS_NAME, p, 'org.freedesktop.DBus.Properties', 'Set', 'ssv', [iface, prop, 1]])
                expect.append('denied')
        # made-up members and interfaces, and no interface at all
        for iface, name, s, a in ((t.MANAGER_IFACE, 'Reload', '', []), (t.MANAGER_IFACE, 'Shutdown', '', []),
                                  (t.DEVICE_IFACE, 'SetName', 's', ['x']), (t.DEVICE_IFACE, 'Forget', '', []),
                                  ('org.hpmon.Monitor1.Internal', 'Flush', '', []),
                                  ('org.freedesktop.DBus.ObjectManager', 'AddObject', '', []),
                                  ('org.freedesktop.DBus.Properties', 'SetAll', '', []),
                                  ('', 'Set', 'ssv', [t.DEVICE_IFACE, 'Percentage', 1]),
                                  ('', 'GetHistory', 'd', [0.0]), ('', 'Get', 'ss', [t.MANAGER_IFACE, 'Version'])):
            calls.append([t.BUS_NAME, p, iface, name, s, a])
            expect.append('denied')
    # the same, addressed to hpmond's unique name
    calls += [[owner] + c[1:] for c in list(calls)]
    expect += list(expect)
    got = run_as_nobody(env, calls)
    check_equal(len(got), len(calls), f'{len(calls)} calls made as {NOBODY}')
    wrong = []
    for c, want, res in zip(calls, expect, got):
        what = f'{c[0]} {c[1]} {c[2] or "(no interface)"}.{c[3]}' + (f'({c[5][0]}.{c[5][1]})' if c[3] == 'Set' and c[5] else '')
        if want == 'denied' and res != DENIED:
            wrong.append(f'{what}: {res}, want {DENIED}')
        elif want == 'open' and res == DENIED:
            wrong.append(f'{what}: refused, but the policy opens it')
    n_open = expect.count('open')
    check(not wrong, f'{n_open} open calls reach hpmond; {len(calls) - n_open} others are refused with AccessDenied',
          '\n'.join(wrong))
    note(f'open calls answered: {sorted(set(r for r, w in zip(got, expect) if w == "open"))}')

    run_request_names(env, 'while hpmond runs')
    check_equal(env.name_owner(t.BUS_NAME), owner, 'hpmond still owns its name')
    props = env.device_props(path)
    check_equal((props['Connected'], props['Percentage'], props['Name']), (True, 80, 'WH-1000XM4'),
                'nothing the refused calls tried changed hpmond')
    check_equal([(e, v) for _, e, v in env.read_log(ADDR).events], [('connected', 1), ('battery', 80)],
                'nor its log')
    env.hpmond.stop()


t.run(test)
