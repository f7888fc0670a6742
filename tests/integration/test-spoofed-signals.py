#!/usr/bin/python3
# Only bluetoothd speaks for BlueZ.  Another client (nobody, when the test runs
# as root) sends PropertiesChanged on a real BlueZ device path and an
# InterfacesAdded for a made-up headset: hpmond takes neither (nothing logged,
# nothing published), and real changes still work afterwards.
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

ADDR = 'AA:BB:CC:DD:EE:FF'
FAKE = '11:22:33:44:55:66'

# Sends the forged signals, then makes a round trip to hpmond: messages from one
# sender arrive in order, so when Get returns hpmond has handled the forgeries.
SPOOFER = r'''
import dbus, os, sys
c = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
dev, fake = sys.argv[1], sys.argv[2]
m = dbus.lowlevel.SignalMessage(dev, "org.freedesktop.DBus.Properties", "PropertiesChanged")
m.append("org.bluez.Battery1", dbus.Dictionary({"Percentage": dbus.Byte(3)}, signature="sv"),
         dbus.Array([], signature="s"), signature="sa{sv}as")
c.send_message(m)
m = dbus.lowlevel.SignalMessage(dev, "org.freedesktop.DBus.Properties", "PropertiesChanged")
m.append("org.bluez.Device1", dbus.Dictionary({"Connected": False}, signature="sv"),
         dbus.Array([], signature="s"), signature="sa{sv}as")
c.send_message(m)
m = dbus.lowlevel.SignalMessage("/", "org.freedesktop.DBus.ObjectManager", "InterfacesAdded")
m.append(dbus.ObjectPath("/org/bluez/hci0/dev_" + fake.replace(":", "_")), dbus.Dictionary({
    "org.bluez.Device1": dbus.Dictionary({"Address": fake, "Alias": "fake", "Connected": True}, signature="sv"),
    "org.bluez.Battery1": dbus.Dictionary({"Percentage": dbus.Byte(9)}, signature="sv")}, signature="sa{sv}"),
    signature="oa{sa{sv}}")
c.send_message(m)
v = c.call_blocking("org.hpmon.Monitor1", "/org/hpmon/Monitor1", "org.freedesktop.DBus.Properties", "Get",
                    "ss", ("org.hpmon.Monitor1.Manager", "Version"))
print("sent; hpmond answered", v)
'''


def test(env):
    env.mock.start()
    env.mock.add_headset(ADDR, 'WH-1000XM4', connected=True, percentage=80)
    env.hpmond.start()
    path = env.wait_device(ADDR)
    env.wait_props(path, Connected=True, Percentage=80)
    before = env.read_log(ADDR).raw

    mark = env.mark()
    added = len(env.added)
    argv = [t.PYTHON3, '-c', SPOOFER, env.mock.bluez_path(ADDR), FAKE]
    who = 'nobody' if os.getuid() == 0 else t._user_name()
    if os.getuid() == 0:
        argv = env.as_user('nobody', argv)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=t.TIMEOUT,
                       env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=env.bus.address))
    check(r.returncode == 0, f'{who} sent forged BlueZ signals', r.stderr)
    note(r.stdout.strip())
    env.barrier()
    env.loop.drain()
    check(env.read_log(ADDR).raw == before, 'forged PropertiesChanged: nothing logged')
    check_equal([c['changed'] for c in env.changes[mark:] if c['path'] == path], [],
                'forged PropertiesChanged: nothing published')
    props = env.device_props(path)
    check_equal((props['Connected'], props['Percentage']), (True, 80), 'the device still shows the real values')
    try:
        p = env.get_device(FAKE)
        check(False, 'forged InterfacesAdded: no device published', p)
    except t.dbus.DBusException as e:
        check_equal(e.get_dbus_name(), 'org.hpmon.Monitor1.Error.NoSuchDevice', 'forged InterfacesAdded: no device')
    check(not os.path.exists(env.log_path(FAKE)), 'forged InterfacesAdded: no log created')
    check_equal(env.added[added:], [], 'no InterfacesAdded on hpmond\'s object manager')

    mark = env.mark()
    env.mock.set_percentage(ADDR, 75)
    env.wait_published(path, 'Percentage', 75, mark)
    check_equal(env.read_log(ADDR).values('battery'), [80, 75], 'a real change afterwards is logged')
    env.hpmond.stop()


t.run(test)
