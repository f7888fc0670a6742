#!/usr/bin/python3
# Values BlueZ should never send, sent anyway: Percentage 255 and 101 (out of
# range), Percentage as a string and as an int32 (wrong D-Bus type), Connected
# as a string; also a headset that first appears with Percentage 255.  Each is a
# warning on stderr, is neither logged nor published, and hpmond keeps running:
# a later valid value is logged and published as usual.
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

dbus = t.dbus
ADDR = 'AA:BB:CC:DD:EE:FF'
NAME = 'WH-1000XM4'
ADDR2 = '00:1B:66:0A:0B:0C'
NAME2 = 'Jabra Elite 85h'
WARNING = r'^<[0-4]>.*$'

BAD = [
    ('Percentage', dbus.Byte(255), 'Percentage 255'),
    ('Percentage', dbus.Byte(101), 'Percentage 101'),
    ('Percentage', dbus.String('70'), "Percentage as a string '70'"),
    ('Percentage', dbus.Int32(50), 'Percentage as an int32 (BlueZ sends a byte)'),
    ('Connected', dbus.String('yes'), "Connected as a string 'yes'"),
]


def test(env):
    env.mock.start()
    env.mock.add_headset(ADDR, NAME, connected=True, percentage=80)
    env.hpmond.start()
    path = env.wait_device(ADDR)
    env.wait_props(path, Connected=True, Percentage=80)

    for prop, value, what in BAD:
        before = env.read_log(ADDR).raw
        mark = env.mark()
        off = env.hpmond.stderr_size()
        if prop == 'Connected':
            env.mock.set_device_prop(ADDR, prop, value)
        else:
            env.mock.set_percentage(ADDR, value)
        line = env.hpmond.wait_stderr(WARNING, since=off, what=f'a warning about {what}')
        check(True, f'{what}: warning on stderr: {line}')
        env.barrier()
        check(env.hpmond.alive(), f'{what}: hpmond still running')
        check_equal(env.read_log(ADDR).raw == before, True, f'{what}: nothing logged')
        env.loop.drain()
        check_equal([c['changed'] for c in env.changes[mark:] if c['path'] == path], [],
                    f'{what}: nothing published')
        props = env.device_props(path)
        check_equal((props['Connected'], props['Percentage']), (True, 80), f'{what}: the device still shows')

    # A valid value after all that is logged and published.
    mark = env.mark()
    env.mock.set_percentage(ADDR, 55)
    env.wait_published(path, 'Percentage', 55, mark)
    log = env.read_log(ADDR)
    check_equal([(e, v) for _, e, v in log.events], [('connected', 1), ('battery', 80), ('battery', 55)],
                'a later valid value is logged; none of the bad ones are')
    log.check_well_formed(ADDR, NAME)

    # The edges are valid: 0 and 100 are logged.
    mark = env.mark()
    env.mock.set_percentage(ADDR, 0)
    env.mock.set_percentage(ADDR, 100)
    env.wait_published(path, 'Percentage', 100, mark)
    check_equal(env.published(path, 'Percentage', mark), [0, 100], 'Percentage 0 and 100 are published')
    check_equal(env.read_log(ADDR).values('battery')[-2:], [0, 100], 'Percentage 0 and 100 are logged')

    # An alias that tries to write log lines of its own.
    mark = env.mark()
    env.mock.set_device_prop(ADDR, 'Alias', dbus.String('evil\n1700000000.000,battery,5\ntime,event,value'))
    env.loop.until(lambda: any('Name' in c['changed'] for c in env.changes[mark:] if c['path'] == path),
                   'PropertiesChanged(Name) after the alias change')
    name = env.device_props(path)['Name']
    check('\n' not in name, f'a newline in the alias does not reach Device.Name ({name!r})')
    log = env.read_log(ADDR)
    check_equal(log.values('battery'), [80, 55, 0, 100], 'an alias with a newline adds no event to the log')
    log.check_well_formed(ADDR)

    mark = env.mark()
    env.mock.disconnect(ADDR)
    env.wait_published(path, 'Connected', False, mark)
    check_equal([(e, v) for _, e, v in env.read_log(ADDR).events][-1], ('connected', 0),
                'a later valid Connected=false is logged')

    # A headset that shows up with a bad level: no battery line until a good one.
    off = env.hpmond.stderr_size()
    env.mock.add_headset(ADDR2, NAME2, connected=True, percentage=dbus.Byte(255))
    line = env.hpmond.wait_stderr(WARNING, since=off, what='a warning about a new headset at 255 %')
    check(True, f'new headset at 255: warning on stderr: {line}')
    env.barrier()
    log2_path = env.log_path(ADDR2)
    if os.path.exists(log2_path):
        check_equal(t.ChargeLog(log2_path).values('battery'), [], 'new headset at 255: no battery line logged')
    try:
        p2 = env.get_device(ADDR2)
        pct = env.device_props(p2)['Percentage']
        check(pct != 255, 'new headset at 255: 255 not published', repr(pct))
        note(f'new headset at 255 is published with Percentage {pct}')
    except dbus.DBusException as e:
        note(f'new headset at 255 is not published ({e.get_dbus_name()})')
    mark = env.mark()
    env.mock.set_percentage(ADDR2, 40)
    p2 = env.wait_device(ADDR2)
    env.wait_props(p2, Percentage=40)
    log2 = env.read_log(ADDR2)
    check_equal(log2.values('battery'), [40], 'new headset: the first valid level is logged')
    log2.check_well_formed(ADDR2, NAME2)

    check(env.hpmond.alive(), 'hpmond survived every bad value')
    env.hpmond.stop()


t.run(test)
