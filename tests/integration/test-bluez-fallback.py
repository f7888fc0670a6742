#!/usr/bin/python3
# The fallback after a partial object list (daemon/bluez.c, bluez_probe_known()): when BlueZ's
# list stops at a device whose name sd-bus cannot read and walking BlueZ's object tree fails
# too (here /org/bluez answers Introspect with a document cut short), hpmond asks for each
# headset it knows, one property at a time, on every adapter it has seen.
#   1. an adapter with a long path (135 bytes: D-Bus sets no limit) is asked like any other:
#      a known headset there is read, not marked disconnected because the only other
#      adapter said it has no such device.
#   2. when it has seen no adapter at all (the list stops at /org/bluez itself), every
#      known headset not read is marked disconnected, as a full list would have said — one
#      BlueZ no longer has, and one it has on an adapter hpmond never saw — and the one it
#      has is found again when it next speaks up.
#   3. a known headset whose object answers the probe's Properties.Get(Address) with
#      something that is not an address — a string that is none, a bare string instead of
#      a variant — is said so in the journal and marked disconnected, as a full list would
#      have (it drops such an object too); it is not left "connected" for good, and hpmond
#      does not crash.
#   4. an adapter BlueZ removes (InterfacesRemoved of Adapter1) before the walk fails is not
#      asked for the headsets hpmond knows: the fallback asks only the adapters still there.
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import case  # noqa: E402

dbus = t.dbus
BAD = 'AA:BB:CC:DD:F0:01'           # its alias holds U+FDD0: the object list stops there
LONG = 'hci' + 'x' * 120 + '1'      # "/org/bluez/hcixx…x1": 135 bytes (dbusmock wants a last digit)
FAR = 'AA:BB:CC:DD:F0:02'           # on LONG, listed after BAD, connected in its log
NEAR = 'AA:BB:CC:DD:F0:03'          # on hci0, never listed, connected in its log
GHOST = 'AA:BB:CC:DD:F0:04'         # not in BlueZ, connected in its log
NOADDR = 'AA:BB:CC:DD:F0:05'        # on hci0 after BAD, its Address "not an address"
BARE = 'AA:BB:CC:DD:F0:06'          # on hci0 after BAD, Properties.Get answers a bare string
LOST = 'AA:BB:CC:DD:F0:07'          # not in BlueZ, connected in its log


def break_walk(env, before=''):
    """/org/bluez answers Introspect with XML cut short, after running the mock's code
    `before`: the walk fails at once."""
    env.mock.call('/org/bluez', t.MOCK_IFACE, 'AddMethod', 'sssss',
                  ('org.freedesktop.DBus.Introspectable', 'Introspect', '', 's',
                   before + "ret = '<node><node name=\"hci0\"/>'"))


def start_to_fallback(env):
    """Starts hpmond and waits until it falls back on asking for each headset it knows."""
    env.hpmond.start()
    env.hpmond.wait_stderr(r'could not be walked to its end; asking for each headset',
                           what='hpmond to fall back on asking for each headset it knows')


def disconnected_once(env, address, what):
    """The known headset is marked disconnected, and that is logged once."""
    props = env.device_props(t.device_path(address))
    case(props.get('Connected') is False, f'{address}: {what}', props)
    case(env.read_log(address).values('connected') == [1, 0], f'{address}: the disconnect is logged once',
         env.read_log(address).values('connected'))


def settled(env, path, level):
    """Waits until the headset is read at `level` or marked disconnected; its properties."""
    def done():
        p = env.device_props(path)
        return p if p.get('Connected') is False or p.get('Percentage') == level else None
    return env.loop.until(done, f'{path} to be read at {level}% or marked disconnected')


def test(env):
    # 1. hci0, then LONG, then BAD on hci0 (the list stops there), then FAR on LONG
    env.write_known_log(FAR, 'Far')
    env.mock.start()
    env.mock.add_adapter(LONG)
    env.mock.add_headset(BAD, 'Bad \ufdd0', connected=True, percentage=50)
    env.mock.add_headset(FAR, 'Far', connected=True, percentage=46, adapter=LONG)
    break_walk(env)
    start_to_fallback(env)
    far = t.device_path(FAR)
    props = settled(env, far, 46)
    case(props.get('Connected') is True and props.get('Percentage') == 46,
         f'a known headset on an adapter with a {len(LONG) + 11}-byte path is found there by the fallback', props)
    case(env.read_log(FAR).values('connected') == [1], f'{FAR}: no connected,0 logged',
         env.read_log(FAR).values('connected'))
    env.hpmond.stop()
    env.mock.stop()

    # 2. /org/bluez, listed first, has a property holding U+FDD0: the list stops before any
    #    adapter, and the walk fails at once
    env.write_known_log(NEAR, 'Near')
    env.write_known_log(GHOST, 'Ghost')
    env.mock.start()
    env.mock.call('/org/bluez', t.MOCK_IFACE, 'AddProperty', 'ssv',
                  ('org.bluez.AgentManager1', 'Evil', dbus.String('evil \ufdd0', variant_level=1)))
    env.mock.add_headset(NEAR, 'Near', connected=True, percentage=44)
    break_walk(env)
    listed = list(env.mock.call('/', t.OM_IFACE, 'GetManagedObjects').keys())
    case(listed[0] == '/org/bluez', 'the mock lists /org/bluez before any adapter', listed[:2])
    start_to_fallback(env)
    env.hpmond.wait_stderr(r'could not be read past /org/bluez;', what='the object list to stop at /org/bluez')
    env.barrier()
    for a in (NEAR, GHOST):
        disconnected_once(env, a, 'with no adapter seen, a known headset not read is marked disconnected')
    env.mock.set_percentage(NEAR, 47)
    env.wait_props(t.device_path(NEAR), Connected=True, Percentage=47,
                   what=f'{NEAR} to be read when it speaks up')
    case(env.read_log(NEAR).values('connected') == [1, 0, 1], f'{NEAR}: found again when it speaks up',
         env.read_log(NEAR).values('connected'))
    case(env.device_props(t.device_path(GHOST)).get('Connected') is False, f'{GHOST} stays disconnected')
    env.hpmond.stop()
    env.mock.stop()

    # 3. hci0 with BAD (the list stops there), then NOADDR and BARE
    for a, name in ((NOADDR, 'No address'), (BARE, 'Bare')):
        env.write_known_log(a, name)
    env.mock.start()
    env.mock.add_headset(BAD, 'Bad \ufdd0', connected=True, percentage=50)
    env.mock.add_headset(NOADDR, 'No address', connected=True, percentage=45)
    env.mock.set_device_prop(NOADDR, 'Address', dbus.String('not an address'))
    bare = env.mock.add_headset(BARE, 'Bare', connected=True, percentage=45)
    env.mock.call(bare, t.MOCK_IFACE, 'AddMethod', 'sssss',
                  ('org.freedesktop.DBus.Properties', 'Get', 'ss', 's', f"ret = '{BARE}'"))
    break_walk(env)
    start_to_fallback(env)
    for a, why in ((NOADDR, 'not a Bluetooth address'), (BARE, 'malformed reply')):
        env.hpmond.wait_stderr(re.escape(env.mock.bluez_path(a)) + rf": BlueZ's Address is not usable.*{why}",
                               what=f'hpmond to say {a}\'s Address is {why}')
    env.barrier()
    for a in (NOADDR, BARE):
        disconnected_once(env, a, 'a known headset whose object answers with no usable Address is marked disconnected')
    env.hpmond.stop()
    env.mock.stop()

    # 4. hci0, hci1, then BAD on hci0 (the list stops there, both adapters seen); the mock
    #    removes hci1 (as RemoveAdapter does) just before it answers Introspect of /org/bluez
    #    with XML cut short
    env.write_known_log(LOST, 'Lost')
    env.mock.start()
    env.mock.add_adapter('hci1')
    env.mock.add_headset(BAD, 'Bad \ufdd0', connected=True, percentage=50)
    break_walk(env, "objects['/'].RemoveObject('/org/bluez/hci1')\n"
                    "objects['/'].EmitSignal('org.freedesktop.DBus.ObjectManager', 'InterfacesRemoved', 'oas',"
                    " [dbus.ObjectPath('/org/bluez/hci1'), ['org.bluez.Adapter1']])\n")
    watch = t.MatchWatch(env, calls_to=env.name_owner(t.BLUEZ))     # hpmond calls bluetoothd's unique name
    start_to_fallback(env)
    env.wait_props(t.device_path(LOST), Connected=False, what=f'{LOST}, not on hci0, to be marked disconnected')
    pid, lost = env.hpmond.proc.pid, env.mock.bluez_path(LOST)

    def gets():
        return [str(r['path']) for r in watch.client_requests(pid) if r['member'] == t.PROPS_IFACE + '.Get']
    # the monitor is a connection of its own: its copies of hpmond's calls come when they come
    env.loop.until(lambda: lost in gets() and watch.client_idle(pid),
                   f'the bus monitor to see hpmond ask hci0 for {LOST}, and every answer')
    case(not any(p.startswith('/org/bluez/hci1/') for p in gets()), 'the fallback asks nothing of hci1, removed before',
         sorted(p for p in gets() if p.startswith('/org/bluez/hci1/'))[:4])
    watch.close()
    env.hpmond.stop()
    env.mock.stop()
    t.check_no_bugs()


t.run(test)
