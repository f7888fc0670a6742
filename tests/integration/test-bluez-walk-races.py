#!/usr/bin/python3
# What BlueZ says while hpmond completes a partial object list (daemon/bluez.c: the walk
# of BlueZ's object tree, and the fallback's probes of the headsets it knows):
#   1. a known headset whose Battery1 is announced (InterfacesAdded, Battery1 alone) after
#      the partial list and before the walk reaches it is still read — not skipped as
#      "already in the mirror" and then marked disconnected when the walk completes;
#   2. a known headset that the fallback is asking for on an adapter, when that adapter
#      is removed before it answers and the other adapter said it has no such object, is
#      marked disconnected: BlueZ said the adapter, and every device on it, is gone — it
#      is not left connected.
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import case  # noqa: E402

dbus = t.dbus
BAD = 'AA:BB:CC:DD:EF:01'       # on hci0, its alias holds U+FDD0: the list stops there
FAR = 'AA:BB:CC:DD:EF:02'       # on hci1, listed after BAD, known from its log
GONE = 'AA:BB:CC:DD:EF:03'      # known from its log, not in BlueZ


def test(env):
    env.write_known_log(FAR, 'Far')

    # 1. hci1's Introspect announces FAR's Battery1 just before it answers, as a headset
    #    reporting its level a moment after the list would
    env.mock.start()
    env.mock.add_headset(BAD, 'Bad \ufdd0', connected=True, percentage=50)
    env.mock.add_adapter('hci1')
    far_bz = env.mock.add_headset(FAR, 'Far', connected=True, adapter='hci1')
    env.mock.call(far_bz, t.MOCK_IFACE, 'AddProperties', 'sa{sv}',
                  ('org.bluez.Battery1', dbus.Dictionary({'Percentage': dbus.Byte(46)}, signature='sv')))
    leaf = far_bz.rsplit('/', 1)[1]
    env.mock.call('/org/bluez/hci1', t.MOCK_IFACE, 'AddMethod', 'sssss',
                  ('org.freedesktop.DBus.Introspectable', 'Introspect', '', 's',
                   f"objects['/'].EmitSignal('org.freedesktop.DBus.ObjectManager', 'InterfacesAdded', 'oa{{sa{{sv}}}}',"
                   f" [dbus.ObjectPath('{far_bz}'), {{'org.bluez.Battery1': {{'Percentage': dbus.Byte(46)}}}}])\n"
                   f"ret = '<node><node name=\"{leaf}\"/></node>'"))
    env.hpmond.start()
    env.hpmond.wait_stderr(r'object list completed by walking', what='the walk to complete the list')
    env.barrier()
    far = t.device_path(FAR)
    props = env.device_props(far)
    case(props.get('Connected') is True and props.get('Percentage') == 46,
         'a known headset whose Battery1 is announced before the walk reaches it is read, not marked disconnected',
         props)
    case(env.read_log(FAR).values('connected') == [1], f'{FAR}: no connected,0 logged',
         env.read_log(FAR).values('connected'))
    env.hpmond.stop()
    env.mock.stop()

    # 2. /org/bluez answers Introspect with a document that is not XML: the walk fails, and
    #    the fallback asks for GONE on hci0 and hci1, the adapters listed before the
    #    unreadable device. The mock never answers the calls on hci0; it answers hci1's
    #    "Address?" with "no such object" and only then says hci0 is removed (an idle
    #    callback runs after that answer is sent). So hpmond hears "not on hci1" while hci0's
    #    probe is still out, and only the removal can settle GONE: an unanswered probe says
    #    nothing of it, and hci1 is still there to ask
    env.write_known_log(GONE, 'Gone')
    env.mock.start()
    env.mock.add_adapter('hci1')
    env.mock.add_headset(BAD, 'Bad \ufdd0', connected=True, percentage=50)
    on_hci0, on_hci1 = env.mock.bluez_path(GONE), env.mock.bluez_path(GONE, adapter='hci1')
    env.mock.call('/org/bluez', t.MOCK_IFACE, 'AddMethod', 'sssss',
                  ('org.freedesktop.DBus.Introspectable', 'Introspect', '', 's',
                   "import dbus.lowlevel\n"
                   "from gi.repository import GLib\n"
                   "def removed(objects=objects):\n"
                   "    objects['/'].EmitSignal('org.freedesktop.DBus.ObjectManager', 'InterfacesRemoved', 'oas',"
                   " [dbus.ObjectPath('/org/bluez/hci0'), ['org.bluez.Adapter1']])\n"
                   "    return False\n"
                   "def held(bus, msg, GLib=GLib, removed=removed):\n"
                   "    if msg.get_type() != dbus.lowlevel.MESSAGE_TYPE_METHOD_CALL:\n"
                   "        return dbus.lowlevel.HANDLER_RESULT_NOT_YET_HANDLED\n"
                   f"    if msg.get_path() == '{on_hci0}':\n"
                   "        return dbus.lowlevel.HANDLER_RESULT_HANDLED\n"
                   f"    if msg.get_path() == '{on_hci1}' and 'Address' in msg.get_args_list():\n"
                   "        GLib.idle_add(removed)\n"
                   "    return dbus.lowlevel.HANDLER_RESULT_NOT_YET_HANDLED\n"
                   "if not getattr(self, 'held_added', False):\n"
                   "    self.held_added = True\n"
                   "    self.connection.add_message_filter(held)\n"
                   "ret = '<node><node name=\"hci0\"/>'"))
    env.hpmond.start()
    env.hpmond.wait_stderr(r'could not be walked to its end; asking for each headset',
                           what='hpmond to fall back on asking for each headset it knows')
    gone = t.device_path(GONE)
    env.wait_props(gone, what='a known headset looked for on an adapter removed before it answered to be marked disconnected',
                   Connected=False)
    t.ok('a known headset looked for on an adapter removed before it answered is marked disconnected')
    case('bluetoothd left the bus' not in env.hpmond.stderr_text(),
         'it was BlueZ\'s word that did it, with the mock still on the bus', env.hpmond.stderr_tail())
    case(env.read_log(GONE).values('connected') == [1, 0], f'{GONE}: the disconnect is logged once',
         env.read_log(GONE).values('connected'))
    env.hpmond.stop()
    t.check_no_bugs()


t.run(test)
