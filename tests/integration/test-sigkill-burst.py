#!/usr/bin/python3
# hpmond is SIGKILLed in the middle of a burst of battery changes.
#
# Every value hpmond published (PropertiesChanged, recorded until its name is
# gone, so nothing it sent is missed) must be in the log, in order: it appends
# before it publishes.  The log holds exactly the values BlueZ sent, in order,
# none skipped in between, none doubled, no torn line.  After a restart hpmond
# shows the mock's current level and has logged it exactly once.
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

ADDR = 'AA:BB:CC:DD:EE:FF'
NAME = 'WH-1000XM4'
# 1..97 in steps of 7 (mod 97): no two neighbours equal; 99 and 100 appear
# only at the end and at the start, so they are easy to tell apart.
BURST = [((i * 7) % 97) + 1 for i in range(1, 400)] + [99]
KILL_AFTER = 25        # published values seen before the kill
WINDOW = 40            # how far the mock may run ahead of what hpmond published


def is_subsequence(short, long):
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


def test(env):
    assert all(a != b for a, b in zip(BURST, BURST[1:]))
    env.mock.start()
    env.mock.add_headset(ADDR, NAME, connected=True, percentage=100)
    env.hpmond.start()
    path = env.wait_device(ADDR)
    env.wait_props(path, Connected=True, Percentage=100)

    mark = env.mark()
    state = {'next': 0, 'replied': 0, 'errors': []}
    bluez_path = env.mock.bluez_path(ADDR)

    def send_next():
        i = state['next']
        if i >= len(BURST):
            return
        state['next'] += 1
        env.conn.call_async(t.BLUEZ, bluez_path, t.PROPS_IFACE, 'Set', 'ssv',
                            (t.BLUEZ_BATTERY, 'Percentage', t.dbus.Byte(BURST[i])),
                            reply_handler=on_reply, error_handler=on_error, timeout=t.TIMEOUT)

    def on_reply(*_):
        state['replied'] += 1

    def on_error(e):
        state['errors'].append(str(e))
        state['replied'] += 1

    def pump(ahead):
        """Keep the mock at most `ahead` values in front of what hpmond published
        (so the burst is still going when hpmond dies, however slow it is), and
        under the bus's limit of pending replies."""
        published = len(env.published(path, 'Percentage', mark))
        while state['next'] < len(BURST) and state['next'] - published < ahead \
                and state['next'] - state['replied'] < 100:
            send_next()
        return published

    env.loop.until(lambda: pump(WINDOW) >= KILL_AFTER, f'{KILL_AFTER} published battery changes')
    sent_at_kill, replied_at_kill = state['next'], state['replied']
    env.hpmond.kill()
    note(f'SIGKILL with {replied_at_kill}/{len(BURST)} Set calls answered by the mock, {sent_at_kill} sent')
    check(replied_at_kill < len(BURST), 'hpmond was killed while the burst was still going on',
          f'{replied_at_kill} of {len(BURST)} already done')
    # NameOwnerChanged comes after everything hpmond sent before it died.
    env.wait_name(t.BUS_NAME, False)
    env.loop.until(lambda: pump(len(BURST)) is not None and state['replied'] == len(BURST),
                   'the rest of the burst (hpmond dead) and the mock to answer every Set')
    check_equal(state['errors'], [], 'the mock took every value')
    check_equal(env.mock.get_percentage(ADDR), BURST[-1], "the mock's level after the burst")

    published = env.published(path, 'Percentage', mark)
    note(f'{len(published)} values published before the kill, last {published[-1]}')
    log = t.ChargeLog(env.log_path(ADDR))
    if log.torn:
        note(f'log has a torn last line after SIGKILL: {log.text.rsplit(chr(10), 1)[-1]!r}')
    check(not log.bad, 'every complete line of the log parses', repr(log.bad))
    logged = log.values('battery')
    check_equal(logged[:1], [100], 'log starts with the level at start')
    logged_burst = logged[1:]
    # A burst this fast is a flood to hpmond: past its rate it keeps only the latest
    # value (coalescing), so the log is an in-order selection of what was sent.
    check(bool(logged_burst) and logged_burst[0] == BURST[0] and is_subsequence(logged_burst, BURST)
          and all(a != b for a, b in zip(logged_burst, logged_burst[1:])),
          'the log holds values BlueZ sent, in order, starting with the first, none doubled',
          f'logged {logged_burst[:40]}... vs sent {BURST[:40]}...')
    check(is_subsequence(published, logged_burst), 'every published value is in the log, in order',
          f'published {published} logged {logged_burst}')
    check(published == logged_burst[:len(published)], 'nothing was published that was not logged first',
          f'published {published} logged {logged_burst}')
    note(f'{len(logged_burst)} burst values logged, {len(logged_burst) - len(published)} of them not yet published')
    check(len(logged_burst) < len(BURST), 'the kill really cut the burst short (the test tests something)',
          f'{len(logged_burst)} of {len(BURST)} logged')

    # Restart: the mock's current level is shown and logged exactly once.
    mark = env.mark()
    env.hpmond.start()
    props = env.wait_props(path, what=f'Percentage {BURST[-1]} after the restart', Connected=True,
                           Percentage=BURST[-1])
    check_equal(props['Percentage'], BURST[-1], "after the restart the API shows the mock's level")
    env.barrier()
    log2 = env.read_log(ADDR)
    log2.check_well_formed(ADDR, NAME)
    check_equal(log2.values('battery'), [100] + logged_burst + [BURST[-1]],
                'the restart appended the current level once and kept every earlier line')
    check_equal(log2.values('connected'), [1], 'still connected: no connected line added by the restart')
    prefix = log.text if not log.torn else log.text[:log.text.rfind('\n') + 1]
    check(log2.text.startswith(prefix), 'lines written before the kill are unchanged')
    hist = env.history(path, 0.0)
    check_equal([(e, v) for _, e, v in hist], [(e, v) for _, e, v in log2.events], 'GetHistory returns the log')

    # A restart with nothing new adds nothing.
    env.hpmond.stop()
    before = env.read_log(ADDR).raw
    env.hpmond.start()
    env.wait_props(path, Connected=True, Percentage=BURST[-1])
    env.barrier()
    check(env.read_log(ADDR).raw == before, 'a second restart at the same level adds no line')
    env.hpmond.stop()


t.run(test)
