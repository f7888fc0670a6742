#!/usr/bin/python3
# dbus/org.hpmon.Monitor1.xml is the documented contract: what hpmond really exports
# (Introspect on the manager and on a device) must equal it member for member, with
# the same argument types, directions, property types and access.
import os
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check_equal  # noqa: E402

XML = os.environ.get('HPMON_XML', os.path.join(t.TOP, 'dbus', 'org.hpmon.Monitor1.xml'))
ADDR = 'AA:BB:CC:DD:EE:C1'


def members(iface):
    """An interface as a comparable set: methods with their args, properties, signals."""
    out = set()
    for m in iface.findall('method'):
        out.add(('method', m.get('name'), tuple((a.get('type'), a.get('direction', 'in')) for a in m.findall('arg'))))
    for p in iface.findall('property'):
        out.add(('property', p.get('name'), p.get('type'), p.get('access')))
    for s in iface.findall('signal'):
        out.add(('signal', s.get('name'), tuple(a.get('type') for a in s.findall('arg'))))
    return out


def interfaces(xml_text):
    return {i.get('name'): members(i) for i in ET.fromstring(xml_text).findall('interface')}


def test(env):
    documented = interfaces(open(XML).read())
    env.mock.start()
    env.mock.add_headset(ADDR, 'Introspected', connected=True, percentage=50)
    env.hpmond.start()
    path = env.wait_device(ADDR)

    live_manager = interfaces(str(env.call(t.MANAGER_PATH, 'org.freedesktop.DBus.Introspectable', 'Introspect')))
    live_device = interfaces(str(env.call(path, 'org.freedesktop.DBus.Introspectable', 'Introspect')))
    for name, live in ((t.MANAGER_IFACE, live_manager), (t.DEVICE_IFACE, live_device)):
        check_equal(sorted(live.get(name, set())), sorted(documented.get(name, set())),
                    f'{name}: the exported members equal {os.path.basename(XML)}')
    check_equal(sorted(documented), sorted([t.MANAGER_IFACE, t.DEVICE_IFACE]),
                'the XML documents exactly the two interfaces')
    env.hpmond.stop()


t.run(test)
