#!/usr/bin/python3
# The host goes to sleep (logind, mocked by dbusmock's logind template): hpmond holds a
# "delay" sleep inhibitor; on PrepareForSleep(true) it logs every connected headset as
# disconnected — before the machine sleeps, not hours later at resume — and releases the
# lock; on PrepareForSleep(false) it takes a new lock and re-reads BlueZ, so a headset
# still connected is logged connected again. Without this, a charge cut off by sleep
# looks like a stalled charger in the log.
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal  # noqa: E402

ADDR = 'AA:BB:CC:DD:EE:5E'
LOGIND = 'org.freedesktop.login1'
LOGIND_PATH = '/org/freedesktop/login1'
LOGIND_IFACE = 'org.freedesktop.login1.Manager'


def inhibitors(logind):
    return [i for i in logind.call(LOGIND_IFACE, 'ListInhibitors') if str(i[1]) == 'hpmond']


def test(env):
    logind = t.DbusMockService(env, 'logind', LOGIND, LOGIND_PATH)
    logind.start()
    env.mock.start()
    env.mock.add_headset(ADDR, 'Sleepy', connected=True, percentage=60)
    mark = logind.mark()
    env.hpmond.start()
    path = env.wait_device(ADDR)
    env.wait_props(path, Connected=True)

    env.loop.until(lambda: logind.called('Inhibit', mark), 'hpmond to ask logind for a sleep inhibitor')
    call = logind.called('Inhibit', mark)[0]['args']
    check_equal((call[0], call[3]), ('sleep', 'delay'), 'a delay lock on sleep')
    env.loop.until(lambda: inhibitors(logind), 'the inhibitor to be held')

    m = env.mark()
    logind.call(t.MOCK_IFACE, 'EmitSignal', 'sssav', (LOGIND_IFACE, 'PrepareForSleep', 'b', [t.dbus.Boolean(True)]))
    env.wait_published(path, 'Connected', False, m)
    check_equal(env.read_log(ADDR).values('connected'), [1, 0], 'the disconnect is logged before the sleep')
    env.loop.until(lambda: not inhibitors(logind), 'hpmond to let go of the lock, so the sleep proceeds')

    # BlueZ's last words before the machine really sleeps: a level, not a reconnection
    m = env.mark()
    env.mock.set_percentage(ADDR, 58)
    env.wait_published(path, 'Percentage', 58, m)
    check_equal(env.read_log(ADDR).values('connected'), [1, 0], 'a change between PrepareForSleep and the sleep '
                'logs no reconnection')

    m = env.mark()
    mark = logind.mark()
    logind.call(t.MOCK_IFACE, 'EmitSignal', 'sssav', (LOGIND_IFACE, 'PrepareForSleep', 'b', [t.dbus.Boolean(False)]))
    env.wait_published(path, 'Connected', True, m)
    log = env.read_log(ADDR)
    log.check_well_formed(ADDR)
    check_equal(log.values('connected'), [1, 0, 1], 'resumed with the headset still connected: logged once more')
    check_equal(log.values('battery'), [60, 58], 'the level, unchanged at resume, is not logged again')
    env.loop.until(lambda: inhibitors(logind), 'a new lock for the next sleep')
    env.hpmond.stop()


t.run(test)
