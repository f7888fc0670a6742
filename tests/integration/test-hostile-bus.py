#!/usr/bin/python3
# A hostile (or broken) bluetoothd, and other clients pretending to be one.
#
# From the mock, i.e. the real owner of org.bluez:
#   - every property hpmond reads with every wrong D-Bus type (Connected, Address,
#     Name, Alias, Percentage), as PropertiesChanged, in InterfacesAdded and in
#     GetManagedObjects after a restart of hpmond;
#   - out-of-range levels, malformed addresses;
#   - 1 MB aliases: Device.Name and the log's "# name=" are cut to at most 248 bytes, on
#     a UTF-8 boundary, with no control characters (C0 and DEL here; C1 is tested in
#     test-hostile-names.py);
#   - unknown interfaces and unknown properties of every shape on headsets;
#   - InterfacesAdded, InterfacesRemoved and PropertiesChanged with garbage signatures
#     and garbage dictionaries;
# From other clients: the same signals broadcast by nobody, and sent straight to
# hpmond's unique name by a client the bus policy lets talk to it (a forged
# NameOwnerChanged would disconnect everything; a forged PropertiesChanged would log).
#
# hpmond must not crash, must log and publish nothing invalid (each log holds exactly
# the valid changes made), must not echo a megabyte into its journal, and its VmRSS
# must stay within a few MiB (not checked under AddressSanitizer, whose quarantine
# keeps freed memory).  Each step ends with a round trip to hpmond (a barrier: it has
# handled everything the bus routed to it before).
import os
import subprocess
import sys
import unicodedata

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

dbus = t.dbus
A = ('AA:BB:CC:DD:EE:01', 'WH-1000XM4')
B = ('AA:BB:CC:DD:EE:02', 'Jabra Elite 85h')
C = ('AA:BB:CC:DD:EE:03', 'Garbage Buds')
NEW = ('AA:BB:CC:DD:EE:04', 'Huge Name Buds')
RSS_SLACK_KIB = 6 * 1024
STDERR_MAX = 256 * 1024

V = dict(variant_level=1)

WRONG = {
    'Connected': [dbus.String('yes'), dbus.Int32(1), dbus.Byte(1), dbus.Double(1.0),
                  dbus.Array([dbus.Boolean(True)], signature='b'), dbus.Boolean(True, variant_level=2),
                  dbus.Dictionary({'Connected': dbus.Boolean(True)}, signature='sv')],
    'Address': [dbus.Int32(7), dbus.ByteArray(b'\xaa\xbb\xcc\xdd\xee\x01'), dbus.ObjectPath('/AA/BB'),
                dbus.String('not an address'), dbus.String('AA:BB:CC:DD:EE'), dbus.String('GG:BB:CC:DD:EE:01'),
                dbus.String('AA:BB:CC:DD:EE:01\n'), dbus.String(''), dbus.String('AA:BB:CC:DD:EE:01' * 60000),
                dbus.String('AA:BB:CC:DD:EE:01', variant_level=2)],
    'Name': [dbus.Int32(5), dbus.Array(['a', 'b'], signature='s'), dbus.Boolean(False), dbus.ByteArray(b'name')],
    'Alias': [dbus.UInt64(1 << 63), dbus.Array(['x'], signature='s'), dbus.ObjectPath('/alias'),
              dbus.String('evil', variant_level=2), dbus.Struct((dbus.String('a'), dbus.Int32(1)))],
    'Percentage': [dbus.String('70'), dbus.Int32(50), dbus.Int16(50), dbus.UInt32(4294967295), dbus.Double(50.0),
                   dbus.Boolean(True), dbus.Byte(101), dbus.Byte(255), dbus.Byte(200),
                   dbus.Array([dbus.Byte(50)], signature='y'), dbus.Byte(50, variant_level=2),
                   dbus.Int64(-1), dbus.Signature('y')],
}

# Shapes of unknown properties: nothing hpmond reads, but it must walk past them.
DEEP = dbus.Byte(1)
for _ in range(8):           # 16 arrays, 16 structs deep: valid, but deep
    DEEP = dbus.Array([dbus.Struct((dbus.String('k'), dbus.Dictionary({'n': DEEP}, signature='sv')),
                                   signature=None)], signature=None)
UNKNOWN_PROPS = dbus.Dictionary({
    'RSSI': dbus.Int16(-40, **V),
    'ManufacturerData': dbus.Dictionary({dbus.UInt16(76): dbus.ByteArray(b'\x00' * 64, **V)}, signature='qv', **V),
    'UUIDs': dbus.Array(['0000110b-0000-1000-8000-00805f9b34fb'] * 200, signature='s', **V),
    'Deep': dbus.Array([DEEP], signature=None, **V),
    'Blob': dbus.ByteArray(b'\xff' * 200000, **V),
    'Fd-like': dbus.UInt32(3, **V),
    'Percentage ': dbus.Byte(3, **V),           # not Percentage
    'percentage': dbus.Byte(4, **V),
    'Nested': dbus.Byte(9, variant_level=3),
}, signature='sv')

# A name that is cut in the middle of a 3-byte character at byte 248, and names full of
# control characters (C0, DEL, C1 — U+009B is an 8-bit CSI to some terminals).
HUGE_CUT = 'a' + '\u20ac' * 400000           # 1.2 MB; byte 248 is inside the 83rd '€'
CONTROL = ''.join(chr(c) for c in list(range(1, 32)) + [0x7f] + list(range(0x80, 0xa0)))
HUGE_CONTROL = ('\x1b[31mred\x1b[0m\t\r\n\u009b2J\u0085' + CONTROL) * 20000   # ~1.4 MB


# Sends `count` PropertiesChanged(Alias) of over a megabyte to one destination, the two
# kinds above in turn.
HUGE_ALIASES = '''
p = str(args[0])
units = ["a" + "\\u20ac" * 400000, ("\\x1b[31mred\\t\\u009b2J\\u0085" + "".join(chr(c) for c in range(1, 32))) * 25000]
conn = objects["/"].connection
for i in range(int(args[2])):
    m = dbus.lowlevel.SignalMessage(p, "org.freedesktop.DBus.Properties", "PropertiesChanged")
    m.set_destination(str(args[3]))
    m.append("org.bluez.Device1", dbus.Dictionary({"Alias": dbus.String(units[i % 2] + str(i), variant_level=1)},
             signature="sv"), dbus.Array([], signature="s"), signature="sa{sv}as")
    conn.send_message(m)
ret = dbus.UInt32(int(args[2]))
'''


def utf8_len(s):
    return len(s.encode('utf-8'))


def control_chars(s):
    """C0 and DEL.  (C1, U+0080..U+009F: test-hostile-names.py.)"""
    return sorted({f'U+{ord(ch):04X}' for ch in s if unicodedata.category(ch) == 'Cc' and not 0x80 <= ord(ch) <= 0x9f})


def check_name(name, what, prefix=None):
    check(utf8_len(name) <= 248, f'{what}: at most 248 bytes ({utf8_len(name)})', repr(name[:80]))
    check(not control_chars(name), f'{what}: no control characters', ' '.join(control_chars(name)))
    if prefix is not None:
        want = prefix.encode('utf-8')[:248].decode('utf-8', errors='ignore')
        check_equal(name, want, f'{what}: the longest prefix that fits, cut on a UTF-8 boundary')


def emit(env, path, iface, name, sig, args, to=None):
    """A signal from the mock (the owner of org.bluez), any signature at all; broadcast,
    or sent to one unique name only."""
    if to is None:
        env.mock.call(path, t.MOCK_IFACE, 'EmitSignal', 'sssav',
                      (iface, name, sig, dbus.Array(args, signature='v')))
    else:
        env.mock.call(path, t.MOCK_IFACE, 'EmitSignalDetailed', 'sssava{sv}',
                      (iface, name, sig, dbus.Array(args, signature='v'),
                       dbus.Dictionary({'destination': dbus.String(to)}, signature='sv')))


def test(env):
    env.mock.start()
    env.mock.add_headset(*A, connected=True, percentage=80)
    env.mock.add_headset(*B, connected=True, percentage=60)
    env.hpmond.start()
    pa, pb = env.wait_device(A[0]), env.wait_device(B[0])
    env.wait_props(pa, Connected=True, Percentage=80, Name=A[1])
    env.wait_props(pb, Connected=True, Percentage=60, Name=B[1])
    expect = {A[0]: [('connected', 1), ('battery', 80)], B[0]: [('connected', 1), ('battery', 60)]}
    sanitized = env.hpmond.sanitized()
    env.barrier()
    rss0 = env.hpmond.rss_kib()
    err0 = env.hpmond.stderr_size()
    note(f'hpmond VmRSS before: {rss0} KiB{" (AddressSanitizer: RSS not checked)" if sanitized else ""}')

    def unchanged(what, mark):
        env.barrier()
        env.loop.drain()
        check(env.hpmond.alive(), f'{what}: hpmond still running')
        # (hpmond's own figures — TimeToEmpty, Health, Alerts — are not the headset's values)
        got = [(p, c['changed']) for c in env.changes[mark:] for p in (c['path'],)
               if p.startswith(t.DEVICES_PREFIX) and c['iface'] == t.DEVICE_IFACE
               and {'Connected', 'Percentage', 'Name', 'LastChange'} & set(c['changed'])]
        check_equal(got, [], f'{what}: nothing published')
        for addr, ev in expect.items():
            log = env.read_log(addr)
            if [(e, v) for _, e, v in log.events] != ev:
                t.fail(f'{what}: {addr} logged something', f'{log.events}, want {ev}')
        check(True, f'{what}: nothing logged')

    # 1. Every wrong type of every property hpmond reads, as PropertiesChanged.
    for prop, values in WRONG.items():
        mark = env.mark()
        off = env.hpmond.stderr_size()
        iface = t.BLUEZ_BATTERY if prop == 'Percentage' else t.BLUEZ_DEVICE
        for v in values:
            env.mock.call(env.mock.bluez_path(A[0]), t.PROPS_IFACE, 'Set', 'ssv', (iface, prop, v))
        emit(env, env.mock.bluez_path(A[0]), t.PROPS_IFACE, 'PropertiesChanged', 'sa{sv}as',
             [iface, dbus.Dictionary({prop: values[0]}, signature='sv'), dbus.Array([], signature='s')])
        unchanged(f'{prop} with {len(values)} wrong types or values', mark)
        warned = env.hpmond.warnings(off)
        check(len(warned) >= len(values), f'{prop}: a warning for each ({len(warned)})', '\n'.join(warned))
    props = env.device_props(pa)
    check_equal((props['Address'], props['Name'], props['Connected'], props['Percentage']),
                (A[0], A[1], True, 80), f'{A[0]} still shows its real values')
    # Put A back to sane values in the mock (GetManagedObjects is checked with C below).
    env.mock.set_device_prop(A[0], 'Address', dbus.String(A[0]))
    env.mock.set_device_prop(A[0], 'Alias', dbus.String(A[1]))
    env.mock.set_device_prop(A[0], 'Name', dbus.String(A[1]))
    env.mock.set_device_prop(A[0], 'Connected', dbus.Boolean(True))
    env.mock.set_percentage(A[0], 80)

    # 2. Unknown interfaces and unknown properties on a followed headset.
    mark = env.mark()
    bp = env.mock.bluez_path(A[0])
    env.mock.call(bp, t.MOCK_IFACE, 'AddProperties', 'sa{sv}', ('org.example.Unknown1', UNKNOWN_PROPS))
    emit(env, '/', t.OM_IFACE, 'InterfacesAdded', 'oa{sa{sv}}',
         [dbus.ObjectPath(bp), dbus.Dictionary({'org.example.Unknown1': UNKNOWN_PROPS,
                                                'org.bluez.MediaControl1': dbus.Dictionary({'Connected': dbus.Boolean(False, **V)}, signature='sv'),
                                                'org.bluez.Battery2': dbus.Dictionary({'Percentage': dbus.Byte(1, **V)}, signature='sv')},
                                               signature='sa{sv}')])
    for iface in (t.BLUEZ_DEVICE, t.BLUEZ_BATTERY, 'org.example.Unknown1', 'org.bluez.Battery2', ''):
        emit(env, bp, t.PROPS_IFACE, 'PropertiesChanged', 'sa{sv}as',
             [iface, UNKNOWN_PROPS, dbus.Array(['Percentage', 'Connected', 'Alias'], signature='s')])
    emit(env, '/', t.OM_IFACE, 'InterfacesRemoved', 'oas',
         [dbus.ObjectPath(bp), dbus.Array(['org.example.Unknown1', 'org.bluez.MediaControl1', ''], signature='s')])
    unchanged('unknown interfaces and properties (deep, wide, 200 kB) on a headset', mark)

    # 3. Garbage signatures and dictionaries on the three signals hpmond follows.
    mark = env.mark()
    garbage = [
        ('/', t.OM_IFACE, 'InterfacesAdded', '', []),
        ('/', t.OM_IFACE, 'InterfacesAdded', 'o', [dbus.ObjectPath(bp)]),
        ('/', t.OM_IFACE, 'InterfacesAdded', 's', [dbus.String(bp)]),
        ('/', t.OM_IFACE, 'InterfacesAdded', 'sa{sa{sv}}', [dbus.String(bp), dbus.Dictionary({}, signature='sa{sv}')]),
        ('/', t.OM_IFACE, 'InterfacesAdded', 'oa{sv}', [dbus.ObjectPath(bp), dbus.Dictionary({'Percentage': dbus.Byte(5, **V)}, signature='sv')]),
        ('/', t.OM_IFACE, 'InterfacesAdded', 'oa{ss}', [dbus.ObjectPath(bp), dbus.Dictionary({t.BLUEZ_BATTERY: 'x'}, signature='ss')]),
        ('/', t.OM_IFACE, 'InterfacesAdded', 'oa{sa{sv}}', [dbus.ObjectPath(bp), dbus.Dictionary({}, signature='sa{sv}')]),
        ('/', t.OM_IFACE, 'InterfacesAdded', 'oa{sa{sv}}',
         [dbus.ObjectPath(bp), dbus.Dictionary({t.BLUEZ_BATTERY: dbus.Dictionary({'Percentage': dbus.Byte(250, **V)}, signature='sv'),
                                                t.BLUEZ_DEVICE: dbus.Dictionary({'Connected': dbus.String('no', **V),
                                                                                 'Address': dbus.Int32(1, **V),
                                                                                 'Alias': dbus.Int32(2, **V)}, signature='sv')},
                                               signature='sa{sv}')]),
        ('/', t.OM_IFACE, 'InterfacesAdded', 'oa{sa{sv}}',     # a device with no address at all
         [dbus.ObjectPath('/org/bluez/hci0/dev_00_00_00_00_00_99'),
          dbus.Dictionary({t.BLUEZ_BATTERY: dbus.Dictionary({'Percentage': dbus.Byte(50, **V)}, signature='sv'),
                           t.BLUEZ_DEVICE: dbus.Dictionary({'Connected': dbus.Boolean(True, **V)}, signature='sv')},
                          signature='sa{sv}')]),
        ('/', t.OM_IFACE, 'InterfacesAdded', 'oa{sa{sv}}as',   # a trailing argument
         [dbus.ObjectPath(bp), dbus.Dictionary({}, signature='sa{sv}'), dbus.Array(['x'], signature='s')]),
        ('/', t.OM_IFACE, 'InterfacesRemoved', '', []),
        ('/', t.OM_IFACE, 'InterfacesRemoved', 'o', [dbus.ObjectPath(bp)]),
        ('/', t.OM_IFACE, 'InterfacesRemoved', 'os', [dbus.ObjectPath(bp), dbus.String(t.BLUEZ_DEVICE)]),
        ('/', t.OM_IFACE, 'InterfacesRemoved', 'as', [dbus.Array([t.BLUEZ_DEVICE], signature='s')]),
        ('/', t.OM_IFACE, 'InterfacesRemoved', 'oai', [dbus.ObjectPath(bp), dbus.Array([1, 2], signature='i')]),
        ('/', t.OM_IFACE, 'InterfacesRemoved', 'oas',
         [dbus.ObjectPath('/org/bluez/hci0/dev_00_00_00_00_00_98'), dbus.Array([t.BLUEZ_DEVICE], signature='s')]),
        (bp, t.PROPS_IFACE, 'PropertiesChanged', '', []),
        (bp, t.PROPS_IFACE, 'PropertiesChanged', 's', [t.BLUEZ_BATTERY]),
        (bp, t.PROPS_IFACE, 'PropertiesChanged', 'i', [dbus.Int32(3)]),
        (bp, t.PROPS_IFACE, 'PropertiesChanged', 'sa{ss}as',
         [t.BLUEZ_BATTERY, dbus.Dictionary({'Percentage': '5'}, signature='ss'), dbus.Array([], signature='s')]),
        (bp, t.PROPS_IFACE, 'PropertiesChanged', 'sa{sy}as',
         [t.BLUEZ_BATTERY, dbus.Dictionary({'Percentage': dbus.Byte(5)}, signature='sy'), dbus.Array([], signature='s')]),
        (bp, t.PROPS_IFACE, 'PropertiesChanged', 'sav', [t.BLUEZ_BATTERY, dbus.Array([dbus.Byte(5, **V)], signature='v')]),
        (bp, t.PROPS_IFACE, 'PropertiesChanged', 'a{sv}', [dbus.Dictionary({'Percentage': dbus.Byte(5, **V)}, signature='sv')]),
        (bp, t.PROPS_IFACE, 'PropertiesChanged', 'sa{sv}as',   # one good-looking value after a bad one in the same dict
         [t.BLUEZ_BATTERY, dbus.Dictionary({'Percentage': dbus.String('5', **V)}, signature='sv'), dbus.Array([], signature='s')]),
    ]
    # Sent to hpmond alone: the harness's own signal handlers would choke on them.  hpmond
    # takes a signal sent to it through the same matches as a broadcast one.
    hpmond_name = env.name_owner(t.BUS_NAME)
    for path, iface, member, sig, args in garbage:
        emit(env, path, iface, member, sig, args, to=hpmond_name)
    unchanged(f'{len(garbage)} signals with garbage signatures or dictionaries', mark)
    check(not os.path.exists(env.log_path('00:00:00:00:00:99')), 'a device without an address gets no log')
    names = sorted(os.listdir(os.path.join(env.state_dir, 'devices')))
    check_equal(names, sorted(t.log_name(a) for a in expect), 'no other log was created')

    # 4. Huge names: a followed headset renamed, and a new headset with a huge alias.
    for i, (alias, what) in enumerate([(HUGE_CUT, '1.2 MB alias of 3-byte characters'),
                                       (HUGE_CONTROL, '1.4 MB alias full of control characters')]):
        mark = env.mark()
        env.mock.set_device_prop(B[0], 'Alias', dbus.String(alias))
        env.loop.until(lambda: any('Name' in c['changed'] for c in env.changes[mark:] if c['path'] == pb),
                       f'PropertiesChanged(Name) after the {what}')
        name = env.device_props(pb)['Name']
        check_name(name, f'{what}: Device.Name', prefix=alias if i == 0 else None)
        log = env.read_log(B[0])
        metas = [c for c in log.comments if c.startswith('# name=')]
        check_name(metas[-1][len('# name='):], f'{what}: the log\'s "# name=" line', prefix=alias if i == 0 else None)
        check_equal(metas[-1][len('# name='):], name, f'{what}: the log and the API agree on the name')
    # Memory: 60 more, as fast as the bus takes them, built in the mock (passing them as
    # arguments would make the mock log each megabyte).
    env.mock.add_method('HugeAliases', 'osus', 'u', HUGE_ALIASES)
    n = env.mock.call('/', t.BLUEZ_MOCK_IFACE, 'HugeAliases', 'osus',
                      (dbus.ObjectPath(env.mock.bluez_path(B[0])), 'split', dbus.UInt32(60), env.name_owner(t.BUS_NAME)))
    note(f'{n} more aliases of over a megabyte sent')
    env.barrier()
    mark = env.mark()
    env.mock.call('/', t.BLUEZ_MOCK_IFACE, 'AddDevice', 'sss', (env.mock.adapter, NEW[0], HUGE_CONTROL))
    env.mock.connect(NEW[0])
    env.mock.add_battery(NEW[0], 42)
    pn = env.wait_device(NEW[0])
    env.wait_props(pn, Connected=True, Percentage=42)
    check_name(env.device_props(pn)['Name'], 'a new headset with a 1.4 MB alias: Device.Name')
    ln = env.read_log(NEW[0])
    ln.check_well_formed(NEW[0])
    check_name(ln.meta['name'], 'a new headset with a 1.4 MB alias: the log header\'s name')
    expect[NEW[0]] = [('connected', 1), ('battery', 42)]
    env.read_log(B[0]).check_well_formed(B[0])
    env.barrier()
    rss1 = env.hpmond.rss_kib()
    note(f'hpmond VmRSS after about 70 MB of aliases and the rest: {rss1} KiB (before: {rss0} KiB)')
    grown = env.hpmond.stderr_size() - err0
    check(grown < STDERR_MAX, f'hpmond said what it rejected without echoing megabytes ({grown} bytes of stderr)')
    if not sanitized:
        check(rss1 - rss0 <= RSS_SLACK_KIB, f'hpmond\'s VmRSS grew by at most {RSS_SLACK_KIB // 1024} MiB',
              f'{rss0} KiB → {rss1} KiB')

    # 5. A headset whose every property is garbage in GetManagedObjects: hpmond restarts.
    env.mock.add_headset(*C, connected=True, percentage=30)
    pc = env.wait_device(C[0])
    env.wait_props(pc, Connected=True, Percentage=30)
    expect[C[0]] = [('connected', 1), ('battery', 30)]
    env.hpmond.stop()
    for prop, values in WRONG.items():
        if prop == 'Address':
            continue
        iface = t.BLUEZ_BATTERY if prop == 'Percentage' else t.BLUEZ_DEVICE
        env.mock.call(env.mock.bluez_path(C[0]), t.PROPS_IFACE, 'Set', 'ssv', (iface, prop, values[-1]))
    # A headset whose address is garbage cannot be told from any other: to hpmond it is
    # not listed any more, so it is disconnected (logged once), its level kept.
    env.mock.set_device_prop(NEW[0], 'Address', dbus.Int32(4))
    expect[NEW[0]].append(('connected', 0))
    env.mock.set_percentage(A[0], dbus.Byte(255))
    env.mock.call(env.mock.bluez_path(A[0]), t.MOCK_IFACE, 'AddProperties', 'sa{sv}',
                  (t.BLUEZ_DEVICE, dbus.Dictionary({'Deep': dbus.Array([DEEP], signature=None, **V)}, signature='sv')))
    env.hpmond.start()
    env.barrier()
    for addr, path, conn, pct in ((A[0], pa, True, 80), (C[0], pc, True, 30), (NEW[0], pn, False, 42)):
        props = env.device_props(path)
        check_equal((props['Connected'], props['Percentage']), (conn, pct),
                    f'{addr} after a restart on garbage (GetManagedObjects): last good values kept')
    mark = env.mark()
    unchanged('GetManagedObjects full of wrong types', mark)
    env.mock.set_percentage(A[0], 75)
    env.wait_props(pa, Percentage=75)
    expect[A[0]].append(('battery', 75))

    # 6. Other clients: broadcast by nobody, and sent straight to hpmond's unique name
    #    by a client the bus policy allows to talk to hpmond (the test's user).
    mark = env.mark()
    owner = env.name_owner(t.BUS_NAME)
    bluez_owner = env.name_owner(t.BLUEZ)
    results = []
    for who, direct in (('nobody', False), (None, True)):
        argv = [t.PYTHON3, '-c', SPOOFER, env.mock.bluez_path(A[0]), owner if direct else '', bluez_owner]
        if who and os.getuid() == 0:
            argv = env.as_user(who, argv)
        elif who:
            note('not root: the broadcast forgeries come from the test user')
        r = subprocess.run(argv, capture_output=True, text=True, timeout=t.TIMEOUT,
                           env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=env.bus.address))
        check(r.returncode == 0, f'forged signals sent ({"unicast to " + owner if direct else "broadcast"})', r.stderr)
        results.append(r.stdout.strip())
    note('; '.join(results))
    env.barrier()
    check_equal(env.manager_props()['BluezRunning'], True, 'a forged NameOwnerChanged did not make hpmond think bluetoothd left')
    unchanged('forged BlueZ signals from other clients', mark)

    # A valid change still goes through after all that.
    env.mock.set_percentage(B[0], 61)
    env.wait_props(pb, Percentage=61)
    expect[B[0]].append(('battery', 61))
    for addr, ev in expect.items():
        log = env.read_log(addr)
        check_equal([(e, v) for _, e, v in log.events], ev, f'{addr}: the log holds exactly the valid changes')
        check(not log.bad and not log.torn, f'{addr}: every line of the log parses')

    check(env.hpmond.stderr_size() < STDERR_MAX, 'nor after the restart')
    env.hpmond.stop()


# Sent by another client.  argv: a BlueZ device path, hpmond's unique name (or '' to
# broadcast), bluetoothd's unique name.  Ends with a round trip to hpmond, so hpmond
# has handled the forgeries when it returns (or they were refused by the bus).
SPOOFER = r'''
import dbus, os, sys
c = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
dev, dest, bluez = sys.argv[1], sys.argv[2], sys.argv[3]
sent = refused = 0
def send(path, iface, member, sig, *args):
    global sent, refused
    m = dbus.lowlevel.SignalMessage(path, iface, member)
    if dest:
        m.set_destination(dest)
    m.append(*args, signature=sig)
    c.send_message(m)
    sent += 1
V = dict(variant_level=1)
send(dev, "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as", "org.bluez.Battery1",
     dbus.Dictionary({"Percentage": dbus.Byte(3, **V)}, signature="sv"), dbus.Array([], signature="s"))
send(dev, "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as", "org.bluez.Device1",
     dbus.Dictionary({"Connected": dbus.Boolean(False, **V), "Alias": dbus.String("pwned", **V)}, signature="sv"),
     dbus.Array([], signature="s"))
send("/", "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", "oas", dbus.ObjectPath(dev),
     dbus.Array(["org.bluez.Device1", "org.bluez.Battery1"], signature="s"))
send("/", "org.freedesktop.DBus.ObjectManager", "InterfacesAdded", "oa{sa{sv}}",
     dbus.ObjectPath("/org/bluez/hci0/dev_11_22_33_44_55_66"), dbus.Dictionary({
         "org.bluez.Device1": dbus.Dictionary({"Address": dbus.String("11:22:33:44:55:66", **V),
                                               "Connected": dbus.Boolean(True, **V)}, signature="sv"),
         "org.bluez.Battery1": dbus.Dictionary({"Percentage": dbus.Byte(9, **V)}, signature="sv")}, signature="sa{sv}"))
# bluetoothd "left", and "came back" as us
send("/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged", "sss", "org.bluez", bluez, "")
send("/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged", "sss", "org.bluez", "", c.get_unique_name())
try:
    c.call_blocking("org.hpmon.Monitor1", "/org/hpmon/Monitor1", "org.freedesktop.DBus.Properties", "Get",
                    "ss", ("org.hpmon.Monitor1.Manager", "Version"))
except dbus.DBusException as e:
    print("round trip:", e.get_dbus_name())
print(f"{sent} forged signals sent by {c.get_unique_name()}" + (" to " + dest if dest else ""))
'''


t.run(test)
