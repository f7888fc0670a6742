#!/usr/bin/python3
# Names from BlueZ and from logs that D-Bus or a terminal cannot take as they are. Names
# hpmond publishes must be valid D-Bus strings (sd-bus is stricter than libdbus: it also
# refuses the noncharacters U+FDD0..U+FDEF and U+xxFFFE/F), at most 248 bytes, with no
# control characters:
#   0. C1 control characters (U+0080..U+009F; U+009B is an 8-bit CSI to some terminals)
#      in an Alias are neither published nor logged;
#   1. an Alias with a noncharacter is valid to libdbus, so bluetoothd and dbus-daemon pass
#      it on (any device in radio range may carry such a name), but sd-bus cannot read the
#      rest of a message that holds it: a PropertiesChanged that also says Connected=false
#      is read again one property at a time (daemon/bluez.c, bluez_probe()), and a
#      GetManagedObjects with such a device in it is completed by walking BlueZ's object
#      tree (bluez_walk_*) — the disconnect is logged, and the headsets after that device
#      stay connected across a restart;
#   2. the "# name=" of a log (not UTF-8, control characters, 10 kB) is published clean;
#   3. a headset that first appears with such a name (InterfacesAdded) is followed;
#   4. a known headset listed after such a device, gone from BlueZ, is marked disconnected;
#   5. the headsets on an adapter listed after such a device — one hpmond knows from its
#      log, one it never saw — are found by walking BlueZ's object tree (Introspect) and
#      read at once, not at their next signal; the one it knows is not disconnected meanwhile;
#   6. an object tree that cannot be walked (more objects than hpmond walks, introspection data
#      that is not XML) ends the walk, said so, and hpmond falls back on asking for each
#      headset it knows on the adapters it saw; the headsets listed before stay connected;
#   7. that fallback, for ~60 headsets hpmond knows on an adapter listed after the unreadable
#      device, stays within the bus's limit on replies a connection may wait for (128 on
#      dbus-daemon's system bus; each of its probes takes three Properties.Get, and it asks
#      for every headset on every adapter seen): it queues its probes, with at most 16 calls
#      in flight, and every headset is read with its level — none is marked disconnected,
#      and no LimitsExceeded comes back.
import os
import sys
import unicodedata

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import case  # noqa: E402

dbus = t.dbus
HEADSETS = [f'AA:BB:CC:DD:EE:{i:02X}' for i in range(1, 5)]
LOGGED = 'AA:BB:CC:DD:EE:20'
EVIL = 'AA:BB:CC:DD:EE:30'
FAR_KNOWN = 'AA:BB:CC:DD:EE:40'     # on hci1, listed after the unreadable device, in a log
FAR_NEW = 'AA:BB:CC:DD:EE:41'       # on hci1 too, never seen by hpmond
MANY = [f'AA:BB:CC:DD:E1:{i:02X}' for i in range(60)]     # on hci2, after the unreadable device, in logs


def clean(name):
    return (len(name.encode()) <= 248 and not any(unicodedata.category(ch) == 'Cc' for ch in name))


def test(env):
    devdir = os.path.join(env.state_dir, 'devices')
    os.makedirs(devdir)
    with open(os.path.join(devdir, t.log_name(LOGGED)), 'wb') as f:
        f.write(b'# hpmon charge log v1\n# address=' + LOGGED.encode() + b'\n# name=\xff\xfe\xc3(\x1b[31mred\x07'
                + 'é'.encode() * 5000 + b'\ntime,event,value\n1700000000.000,battery,33\n')
    env.mock.start()
    for i, a in enumerate(HEADSETS):
        env.mock.add_headset(a, f'Buds {i}', connected=True, percentage=50 + i)
    env.hpmond.start()

    # 2. the name from a log header
    try:
        objs = env.managed_objects()
        case(True, 'GetManagedObjects works beside a log whose "# name=" is not UTF-8')
        name = objs.get(t.device_path(LOGGED), {}).get(t.DEVICE_IFACE, {}).get('Name', '')
        case(clean(name), 'a log header\'s name with control characters, 10 kB long, is published clean', repr(name[:40]))
    except dbus.DBusException as e:
        case(False, 'GetManagedObjects works beside a log whose "# name=" is not UTF-8', e.get_dbus_message())
    try:
        env.device_props(t.device_path(LOGGED))
        case(True, 'GetAll of that device works')
    except dbus.DBusException as e:
        case(False, 'GetAll of that device works', e.get_dbus_message())
    st = env.hpctl('status', '--json')
    case(st.returncode == 0, '`hpctl status` works', st.stderr.strip())

    paths = [env.wait_device(a) for a in HEADSETS]
    for p in paths:
        env.wait_props(p, Connected=True)

    # 0. C1 control characters in an alias
    mark = env.mark()
    c1 = 'Buds \u0085\u009b2J\u0080\u009f end'
    env.mock.set_device_prop(HEADSETS[2], 'Alias', dbus.String(c1))
    env.loop.until(lambda: any('Name' in c['changed'] for c in env.changes[mark:] if c['path'] == paths[2]),
                   'PropertiesChanged(Name) after the alias with C1 characters')
    name = env.device_props(paths[2])['Name']
    case(clean(name), 'C1 control characters in an alias are not published', repr(name))
    logged = [c for c in env.read_log(HEADSETS[2]).comments if c.startswith('# name=')][-1]
    case(clean(logged), 'nor logged', repr(logged))

    # 1. a noncharacter in one alias: bluetoothd's own state says disconnected, and its
    #    signal saying so carries a name sd-bus cannot read (so the signal is unreadable)
    bp = env.mock.bluez_path(HEADSETS[0])
    mark = env.mark()
    env.mock.call(bp, t.MOCK_IFACE, 'AddMethod', 'sssss',
                  ('org.hpmon.Test', 'EvilDisconnect', '', '',
                   "self.props['org.bluez.Device1']['Connected'] = False\n"
                   "self.EmitSignal('org.freedesktop.DBus.Properties', 'PropertiesChanged', 'sa{sv}as',"
                   " ['org.bluez.Device1', {'Alias': dbus.String('evil\\ufffe', variant_level=1),"
                   " 'Connected': dbus.Boolean(False, variant_level=1)}, dbus.Array([], signature='s')])"))
    env.mock.call(bp, 'org.hpmon.Test', 'EvilDisconnect')
    env.loop.until(lambda: False in env.published(paths[0], 'Connected', mark),
                   'PropertiesChanged(Connected=false) after an unreadable disconnect signal')
    case(env.read_log(HEADSETS[0]).values('connected')[-1] == 0,
         'a PropertiesChanged with Connected=false and an Alias with U+FFFE still disconnects the headset, logged')
    env.mock.set_device_prop(HEADSETS[0], 'Alias', dbus.String('Buds 0'))
    env.mock.set_device_prop(HEADSETS[0], 'Connected', dbus.Boolean(True))
    env.wait_props(paths[0], Connected=True)
    # 3. a headset that first appears with such a name: InterfacesAdded cannot be read
    env.mock.add_headset(EVIL, 'Buds \ufdef new', connected=True, percentage=66)
    evil_path = env.wait_device(EVIL)
    env.wait_props(evil_path, Connected=True, Percentage=66)
    case(env.read_log(EVIL).values('battery') == [66], 'a headset first seen with a noncharacter in its name is '
         'followed and its level logged', env.read_log(EVIL).values('battery'))
    env.mock.set_device_prop(HEADSETS[1], 'Alias', dbus.String('Buds \ufdd0 1'))
    env.hpmond.stop()
    env.hpmond.start()
    env.barrier()
    gone = [a for a, p in zip(HEADSETS, paths) if not env.device_props(p)['Connected']]
    case(not gone, 'after a restart, GetManagedObjects with one alias holding U+FDD0 leaves every connected headset connected',
         f'marked disconnected: {gone}')
    log = env.read_log(HEADSETS[-1])
    case(log.values('connected') == [1], f'{HEADSETS[-1]}: no connected,0 logged for it', log.values('connected'))
    env.hpmond.stop()

    # 4. a known headset after the unreadable device that BlueZ no longer has: not found by
    #    the walk, so disconnected once it has read everything, as a full list would have said
    env.mock.call(f'/org/bluez/{env.mock.adapter}', 'org.bluez.Adapter1', 'RemoveDevice', 'o',
                  (dbus.ObjectPath(env.mock.bluez_path(HEADSETS[-1])),))
    env.hpmond.start()
    env.wait_props(paths[-1], Connected=False)
    case(env.read_log(HEADSETS[-1]).values('connected') == [1, 0],
         f'{HEADSETS[-1]}, removed from BlueZ while hpmond was away, is logged disconnected after a partial list',
         env.read_log(HEADSETS[-1]).values('connected'))
    case(all(env.device_props(p)['Connected'] for p in paths[:-1]), 'the others stay connected')
    env.hpmond.stop()

    # 5. a second adapter listed after the unreadable device (the mock lists objects in the
    #    order they were added), with a headset hpmond knows (connected in its log) and one
    #    it never saw: the object list stops before both
    env.write_known_log(FAR_KNOWN, 'Far known')
    env.mock.add_adapter('hci1')
    env.mock.add_headset(FAR_KNOWN, 'Far known', connected=True, percentage=45, adapter='hci1')
    env.mock.add_headset(FAR_NEW, 'Far new', connected=True, percentage=71, adapter='hci1')
    listed = list(env.mock.call('/', t.OM_IFACE, 'GetManagedObjects').keys())
    case(listed.index(env.mock.bluez_path(HEADSETS[1])) < listed.index('/org/bluez/hci1'),
         'the mock lists hci1 after the device whose alias holds U+FDD0')
    env.hpmond.start()
    far_known = t.device_path(FAR_KNOWN)
    env.wait_props(far_known, what='a known headset on an adapter listed after the unreadable device to be read at start',
                   Connected=True, Percentage=45)
    t.ok('a known headset on an adapter listed after the unreadable device is read at start')
    far_new = env.wait_device(FAR_NEW)
    props = env.wait_props(far_new, Connected=True, Percentage=71)
    case(props.get('Name') == 'Far new', 'a headset never seen, on that adapter, is found with its name and level',
         props)
    env.hpmond.wait_stderr(r'object list completed by walking', what='hpmond to say the walk of BlueZ\'s objects completed the list')
    log = env.read_log(FAR_KNOWN)
    case(log.values('connected') == [1] and log.values('battery') == [40, 45],
         f'{FAR_KNOWN}: no connected,0 logged while it was looked for', (log.values('connected'), log.values('battery')))
    case(env.read_log(FAR_NEW).values('connected') == [1], f'{FAR_NEW}: connected,1 logged',
         env.read_log(FAR_NEW).values('connected'))
    case(not env.device_props(paths[-1])['Connected'] and all(env.device_props(p)['Connected'] for p in paths[:-1]),
         f'{HEADSETS[-1]} (not in BlueZ) stays disconnected, the others connected')
    env.hpmond.stop()

    # 6. /org/bluez answers Introspect with 5000 children, then with a document cut short
    hostile = [('5000 children', "ret = '<node>' + ''.join('<node name=\"x%d\"/>' % i for i in range(5000)) + '</node>'",
                r'more than 4096 objects under /org/bluez'),
               ('a document cut short', "ret = '<node><node name=\"hci0\"/><node name=\"hci1\"/>'",
                r'list of the objects under /org/bluez is not usable')]
    for run, (what, code, said) in enumerate(hostile):
        env.mock.call('/org/bluez', t.MOCK_IFACE, 'AddMethod', 'sssss',
                      ('org.freedesktop.DBus.Introspectable', 'Introspect', '', 's', code))
        env.hpmond.start()
        env.hpmond.wait_stderr(said, what=f'hpmond to say it cannot walk a tree with {what}')
        env.hpmond.wait_stderr(r'could not be walked to its end; asking for each headset',
                               what='hpmond to fall back on asking for each headset it knows')
        if run == 0:
            # the fallback looks for the headsets it knows on the adapters the list showed
            # (hci0): not finding FAR_KNOWN there, it says disconnected, as before the walk
            env.wait_props(far_known, Connected=False)
            stderr = env.hpmond.stderr_text()
            case('LimitsExceeded' not in stderr and len(env.hpmond.warnings()) <= 4,
                 'the walk stops at 4096 objects, and what follows stays within the bus\'s limit on calls in flight',
                 env.hpmond.warnings()[:6])
        env.barrier()
        case(all(env.device_props(p)['Connected'] for p in paths[:-1]),
             f'introspection data with {what}: the walk stops, and the headsets listed before stay connected')
        env.hpmond.stop()

    # 7. a fresh bluetoothd: hci0 with one device whose alias holds U+FDD0 (the object list
    #    stops there), then hci2 with MANY, all in logs, then hci3, whose devices are too
    #    many to walk. The walk introspects /org/bluez, then hci0, hci2 and hci3 (in that
    #    order: the mock lists children sorted, and answers in turn); hci3's answer stops it
    #    with hci2's devices still queued, and the fallback asks for each of MANY on hci0 and
    #    on hci2 — 120 probes, 360 calls if sent at once.
    env.mock.stop()
    env.mock.start()
    for a in MANY:
        env.write_known_log(a, f'Many {a[-2:]}')
    env.mock.add_headset(HEADSETS[0], 'Buds \ufdd0 0', connected=True, percentage=50)
    env.mock.add_adapter('hci2')
    for i, a in enumerate(MANY):
        env.mock.add_headset(a, f'Many {i}', connected=True, percentage=60 + i // 3, adapter='hci2')
    env.mock.add_adapter('hci3')
    env.mock.call('/org/bluez/hci3', t.MOCK_IFACE, 'AddMethod', 'sssss',
                  ('org.freedesktop.DBus.Introspectable', 'Introspect', '', 's',
                   "ret = '<node>' + ''.join('<node name=\"dev_x%d\"/>' % i for i in range(5000)) + '</node>'"))
    listed = list(env.mock.call('/', t.OM_IFACE, 'GetManagedObjects').keys())
    case(listed.index(env.mock.bluez_path(HEADSETS[0])) < listed.index('/org/bluez/hci2'),
         'the mock lists hci2 after the device whose alias holds U+FDD0')
    env.hpmond.start()
    env.hpmond.wait_stderr(r'more than 4096 objects under /org/bluez',
                           what='hpmond to say it cannot walk hci3\'s devices')
    env.hpmond.wait_stderr(r'could not be walked to its end; asking for each headset',
                           what='hpmond to fall back on asking for each headset it knows')
    # each one settles as read (its level from hci2) or as disconnected; only the first is right
    want = {t.device_path(a): 60 + i // 3 for i, a in enumerate(MANY)}
    read, dropped = set(), set()

    def settled():
        for p in [p for p in want if p not in read and p not in dropped]:
            props = env.device_props(p)
            if props.get('Connected') is True and props.get('Percentage') == want[p]:
                read.add(p)
            elif props.get('Connected') is False:
                dropped.add(p)
        return len(read) + len(dropped) == len(want)
    env.loop.until(settled, f'each of the {len(MANY)} known headsets on hci2 to be read or marked disconnected')
    case(not dropped, f'all {len(MANY)} known headsets on an adapter listed after the unreadable device are read '
         'with their levels by the fallback, none marked disconnected', sorted(dropped)[:5])
    env.barrier()
    wrong = [a for a in MANY if env.read_log(a).values('connected') != [1]]
    case(not wrong, 'none of them is logged disconnected',
         {a: env.read_log(a).values('connected') for a in wrong[:5]})
    levels = [a for i, a in enumerate(MANY) if env.read_log(a).values('battery') != [40, 60 + i // 3]]
    case(not levels, 'each one\'s level is logged once', levels[:5])
    stderr = env.hpmond.stderr_text()
    case('LimitsExceeded' not in stderr,
         'the fallback\'s probes stay within the bus\'s limit on replies waited for (no LimitsExceeded)',
         [ln for ln in stderr.splitlines() if 'LimitsExceeded' in ln][:3])
    env.hpmond.stop()
    t.check_no_bugs()


t.run(test)
