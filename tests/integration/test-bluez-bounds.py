#!/usr/bin/python3
# A bluetoothd that announces objects without end (daemon/bluez.c: BLUEZ_DEVICES_MAX, and
# the walk's bound on the probes it waits for):
#   1. InterfacesAdded for 5000 devices: hpmond follows 4096 BlueZ objects, says once that
#      there are more, and goes on serving;
#   2. after a partial object list, while hpmond walks BlueZ's object tree, a stream of
#      InterfacesAdded it cannot read (each object is then read one value at a time, and the
#      walk waits for those reads): the walk stops waiting after 4096 of them, while the
#      stream goes on, and falls back on asking for the headsets hpmond knows; no known
#      headset is taken for gone meanwhile.
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import case  # noqa: E402

dbus = t.dbus
BAD = 'AA:BB:CC:DD:F3:01'           # its alias holds U+FDD0: the object list stops there
KNOWN = 'AA:BB:CC:DD:F3:02'         # on hci0 after BAD, connected in its log
FULL = r'BlueZ has more objects than the 4096 hpmond follows'

# Mock code: InterfacesAdded for `n` devices on hci0 that the mock does not keep (a probe
# of one is told there is no such object), all sent before the method answers; then, with
# `more`, more of them from the mock's idle loop (its answers to hpmond's calls go first),
# until StopStream or 20000 in all. Streamed says how many so far.
ANNOUNCE = """
def announce(me, k, alias={alias!r}):
    for _ in range(k):
        i = me.streamed
        me.streamed += 1
        a = 'C0:00:00:%02X:%02X:%02X' % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
        objects['/'].EmitSignal('org.freedesktop.DBus.ObjectManager', 'InterfacesAdded', 'oa{{sa{{sv}}}}',
                                [dbus.ObjectPath('/org/bluez/hci0/dev_' + a.replace(':', '_')),
                                 {{'org.bluez.Device1': {{'Address': a, 'Alias': alias}}}}])
    return not me.stopped and me.streamed < 20000
self.streamed, self.stopped = 0, False
announce(self, {n})
if {more}:
    from gi.repository import GLib
    GLib.idle_add(announce, self, 20)
"""


def add_announce(env, path, iface, member, out_sig, ret='', **fmt):
    """Puts ANNOUNCE (formatted with fmt) in a method of the mock's, with Streamed and StopStream."""
    env.mock.call(path, t.MOCK_IFACE, 'AddMethod', 'sssss', (iface, member, '', out_sig, ANNOUNCE.format(**fmt) + ret))
    env.mock.call(path, t.MOCK_IFACE, 'AddMethod', 'sssss',
                  ('org.hpmon.Test', 'Streamed', '', 'u', 'ret = getattr(self, "streamed", 0)'))
    env.mock.call(path, t.MOCK_IFACE, 'AddMethod', 'sssss', ('org.hpmon.Test', 'StopStream', '', '', 'self.stopped = True'))


def test(env):
    # 1. 5000 readable InterfacesAdded, the object list whole
    env.mock.start()
    env.hpmond.start()
    add_announce(env, '/', t.BLUEZ_MOCK_IFACE, 'Flood', '', n=5000, alias='x', more=False)
    env.mock.call('/', t.BLUEZ_MOCK_IFACE, 'Flood')
    env.barrier()       # the bus routed the mock's signals to hpmond before this call
    said = len(re.findall(FULL, env.hpmond.stderr_text()))
    case(said == 1, 'hpmond says once that BlueZ has more objects than it follows', said)
    case(env.hpmond.alive(), 'and goes on serving')
    env.hpmond.stop()
    env.mock.stop()

    # 2. hci0 with BAD (the list stops there) and KNOWN; /org/bluez's Introspect announces
    #    4200 unreadable devices, answers, and goes on announcing more
    env.write_known_log(KNOWN, 'Known')
    env.mock.start()
    env.mock.add_headset(BAD, 'Bad \ufdd0', connected=True, percentage=50)
    env.mock.add_headset(KNOWN, 'Known', connected=True, percentage=46)
    add_announce(env, '/org/bluez', 'org.freedesktop.DBus.Introspectable', 'Introspect', 's',
                 "ret = '<node><node name=\"hci0\"/></node>'", n=4200, alias='x\ufdd0', more=True)
    env.hpmond.start()
    end = env.hpmond.wait_stderr(r'object list completed by walking|could not be walked to its end',
                                 what='the walk of BlueZ\'s object tree to end')
    at = int(env.mock.call('/org/bluez', 'org.hpmon.Test', 'Streamed'))
    env.mock.call('/org/bluez', 'org.hpmon.Test', 'StopStream')
    case('could not be walked' in end and re.search(r'more than 4096 objects read one value at a time',
                                                     env.hpmond.stderr_text()),
         'a walk kept waiting by objects it must read one value at a time stops after 4096 and falls back', end)
    case(at < 20000, 'it ends while bluetoothd keeps announcing them', at)
    env.barrier()
    case(env.hpmond.alive(), 'hpmond goes on serving')
    case(env.read_log(KNOWN).values('connected') == [1], f'{KNOWN}: no connected,0 logged',
         env.read_log(KNOWN).values('connected'))
    said = len(re.findall(FULL, env.hpmond.stderr_text()))
    case(said <= 1, 'the mirror being full is said at most once', said)
    env.hpmond.stop()
    env.mock.stop()
    t.check_no_bugs()


t.run(test)
