#!/usr/bin/python3
# hpmon integration test harness.
#
# Every test (tests/integration/test-*.py) runs in its own world:
#
#   - a private *system* bus: a real dbus-daemon with a generated configuration
#     modelled on Debian's /usr/share/dbus-1/system.conf (deny own and method calls
#     by default), a policy for the mocked bluetoothd modelled on BlueZ's
#     bluetooth.conf, and the project's own dbus/org.hpmon.Monitor1.conf.in with
#     @HPMON_USER@ replaced by the user running the test;
#   - Debian's python3-dbusmock "bluez5" template as org.bluez on that bus;
#   - hpmond with its own state directory, started with NOTIFY_SOCKET pointing at a
#     datagram socket of ours: it is ready when it sends READY=1.
#
# and, for the tests that ask for them (alerts, issue 5):
#
#   - dbusmock's "polkitd" template as org.freedesktop.PolicyKit1 on the system bus
#     (the bus lets the test user own it and anyone call it, as polkit's own policy
#     does): PolkitMock;
#   - a private *session* bus (a dbus-daemon with a generated session
#     configuration: no service directories, so nothing real is ever activated)
#     with dbusmock's "notification_daemon" template: SessionBus,
#     NotificationMock;
#   - the desktop agent `hpctl notify` on both buses: Env.spawn_notify().
#
# Nothing here sleeps and hopes.  We wait for real events: the bus address that
# dbus-daemon prints once it listens, NameOwnerChanged, READY=1, PropertiesChanged
# and InterfacesAdded on hpmond's API, the AddMatch replies a client receives
# (seen through a bus monitor), AlertRaised/AlertCleared, the MethodCalled signal
# a dbusmock mock emits for every call it gets (Notify, CheckAuthorization), lines
# on a pipe.  The only bounded polls are on hpmond's stderr file and the agent's
# state file, where no event exists.  Every wait has a generous deadline that
# fails the test.
#
# This file is also a small program, used by the harness itself:
#   hpmontest.py bluez-mock --preload JSON
# runs the bluez5 mock with devices already in place *before* it takes the name
# org.bluez, as a bluetoothd that comes back knows its devices at once.
#
# Run by /usr/bin/python3 only: that is where Debian's python3-dbusmock lives.
#
# Environment: HPMOND, HPCTL, HPMON_POLICY, DBUS_DAEMON (default: this source
# tree and /usr/bin/dbus-daemon); HPMON_TEST_TIMEOUT_SCALE=N multiplies every
# deadline (20 s); HPMON_TEST_KEEP=1 keeps each test's temporary directory,
# HPMON_TEST_KEEP_FAILED=1 only a failed test's.  A failed test prints hpmond's
# stderr, the charge logs, the mock's and dbus-daemon's logs.

import ctypes
import json
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_SKIP = 77

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def _path_from_env(var, default):
    value = os.environ.get(var)
    return value if value else default


HPMOND = _path_from_env('HPMOND', os.path.join(TOP, 'daemon', 'hpmond'))
HPCTL = _path_from_env('HPCTL', os.path.join(TOP, 'client', 'hpctl'))
HPMON_POLICY = _path_from_env('HPMON_POLICY', os.path.join(TOP, 'dbus', 'org.hpmon.Monitor1.conf.in'))
DBUS_DAEMON = _path_from_env('DBUS_DAEMON', '/usr/bin/dbus-daemon')
PYTHON3 = '/usr/bin/python3'

# Deadlines are generous; slow machines (or ASan/valgrind builds) may scale them.
TIMEOUT = 20.0 * float(os.environ.get('HPMON_TEST_TIMEOUT_SCALE', '1'))

BUS_NAME = 'org.hpmon.Monitor1'
MANAGER_PATH = '/org/hpmon/Monitor1'
MANAGER_IFACE = 'org.hpmon.Monitor1.Manager'
DEVICE_IFACE = 'org.hpmon.Monitor1.Device'
DEVICES_PREFIX = '/org/hpmon/Monitor1/devices/'

PROPS_IFACE = 'org.freedesktop.DBus.Properties'
OM_IFACE = 'org.freedesktop.DBus.ObjectManager'
MOCK_IFACE = 'org.freedesktop.DBus.Mock'

BLUEZ = 'org.bluez'
BLUEZ_MOCK_IFACE = 'org.bluez.Mock'
BLUEZ_DEVICE = 'org.bluez.Device1'
BLUEZ_BATTERY = 'org.bluez.Battery1'

DBUS_NAME = 'org.freedesktop.DBus'
DBUS_PATH = '/org/freedesktop/DBus'


class TestFailure(Exception):
    pass


class TestSkip(Exception):
    pass


# ------------------------------------------------------------------ reporting

_checks = [0]
VERBOSE = True     # tests/demo.py turns the test chatter off


def note(msg):
    if VERBOSE:
        print('# ' + msg, flush=True)


def ok(what):
    _checks[0] += 1
    if VERBOSE:
        print(f'ok {_checks[0]} - {what}', flush=True)


def fail(what, detail=None):
    msg = what if detail is None else f'{what}: {detail}'
    raise TestFailure(msg)


def check(cond, what, detail=None):
    """Record one checked fact; a false one fails the test."""
    if not cond:
        fail(what, detail)
    ok(what)


def check_equal(got, want, what):
    if got != want:
        fail(what, f'got {got!r}, want {want!r}')
    ok(f'{what} ({got!r})')


def skip(why):
    raise TestSkip(why)


# Tests of known bugs (or of bugs once known) check each case with case(), which says "ok"
# or "# BUG" and goes on, so one run shows every bug left; check_no_bugs() at the end
# fails the test if any case was a bug.
_bugs = []


def case(cond, what, detail=''):
    """Record one case of a known bug: "ok" when fixed, else "# BUG" and go on."""
    if cond:
        ok(what)
    else:
        _bugs.append(what)
        print(f'# BUG: {what}{": " + str(detail) if detail else ""}', flush=True)


def check_no_bugs():
    """Fail the test if any case() found its bug still there."""
    if _bugs:
        fail(f'{len(_bugs)} known bug(s) still there', '; '.join(_bugs))


_SANITIZER = re.compile(r'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:')


def check_no_sanitizer_report(text, who):
    """With ./configure --enable-sanitizers a report may not change the exit status."""
    m = _SANITIZER.search(text)
    if m:
        fail(f'{who} printed a sanitizer report', text[max(0, m.start() - 200):m.start() + 2000])


# ------------------------------------------------------------------ imports
# python3-dbus, python3-gi and python3-dbusmock are Debian packages, importable
# from /usr/bin/python3 only.  Missing ones make every test a skip, not a failure.

try:
    import dbus
    import dbus.lowlevel
    import dbus.mainloop.glib
    from gi.repository import GLib
    _IMPORT_ERROR = None
except ImportError as e:  # pragma: no cover
    _IMPORT_ERROR = e


def _require_imports():
    if _IMPORT_ERROR is not None:
        skip(f'needs python3-dbus and python3-gi for {sys.executable}: {_IMPORT_ERROR}')
    try:
        import dbusmock  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    except ImportError as e:
        skip(f'needs python3-dbusmock for {sys.executable}: {e}')


# ------------------------------------------------------------------ processes

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # A child must not outlive a test that was killed (make check's timeout).
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Proc:
    """A child process the harness owns and always ends."""

    def __init__(self, argv, name, env=None, stdout=None, stderr=None, stdin=subprocess.DEVNULL,
                 pass_fds=()):
        self.name = name
        self.argv = argv
        self.popen = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr, stdin=stdin,
                                      preexec_fn=_die_with_parent, pass_fds=pass_fds,
                                      close_fds=True)
        self.pid = self.popen.pid
        try:
            self.pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            self.pidfd = None

    def alive(self):
        return self.popen.poll() is None

    @property
    def returncode(self):
        return self.popen.poll()

    def send_signal(self, sig):
        if self.alive():
            self.popen.send_signal(sig)

    def wait(self, timeout=TIMEOUT):
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            fail(f'{self.name} (pid {self.pid}) did not exit within {timeout:.0f}s')

    def end(self, sig=signal.SIGTERM, grace=5.0):
        """End the process however it goes; returns its exit status."""
        if self.alive():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        return self.popen.returncode


def _tail(path, n=60):
    try:
        with open(path, 'r', errors='replace') as f:
            lines = f.readlines()
    except OSError:
        return '(none)'
    if not lines:
        return '(empty)'
    return ''.join(lines[-n:]).rstrip('\n')


# ------------------------------------------------------------------ the bus

def _user_name():
    return pwd.getpwuid(os.getuid()).pw_name


# Debian 12's /usr/share/dbus-1/system.conf default policy, verbatim in spirit.
_DEFAULT_POLICY = '''\
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Containers1"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
'''

# The test user may monitor the bus (as root may on a real system), so that the harness
# can see a client's AddMatch.
_MONITOR_POLICY = '''\
  <policy user="{user}">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
'''

# The mocked system services, each with the interfaces everybody may call (none named:
# all of it), after each service's own policy: BlueZ's src/bluetooth.conf, polkit's
# org.freedesktop.PolicyKit1.conf, systemd's org.freedesktop.login1.conf (Inhibit is
# polkit's business there).
_MOCKED_SERVICES = (
    ('org.bluez', ()),
    ('org.freedesktop.PolicyKit1', ('org.freedesktop.PolicyKit1.Authority', 'org.freedesktop.DBus.Properties',
                                    'org.freedesktop.DBus.Introspectable')),
    ('org.freedesktop.login1', ('org.freedesktop.login1.Manager',)),
)


def _service_policy(name, interfaces, user):
    """A mocked service's policy: `user` (who runs the mock, root on a real system) owns
    `name` and may call all of it; everybody may call `interfaces`, or all of it."""
    calls = (''.join(f'    <allow send_destination="{name}" send_interface="{i}"/>\n' for i in interfaces)
             or f'    <allow send_destination="{name}"/>\n')
    return (f'  <policy user="{user}">\n'
            f'    <allow own="{name}"/>\n'
            f'    <allow send_destination="{name}"/>\n'
            '  </policy>\n'
            '  <policy context="default">\n'
            f'{calls}'
            '  </policy>\n')


def _policy_text(user):
    """The project's own bus policy with @HPMON_USER@ → user (like sed)."""
    if not os.path.exists(HPMON_POLICY):
        fail(f'project bus policy {HPMON_POLICY} is missing (set HPMON_POLICY)')
    with open(HPMON_POLICY) as f:
        text = f.read()
    text = text.replace('@HPMON_USER@', user)
    left = re.findall(r'@[A-Za-z_]+@', text)
    if left:
        fail(f'{HPMON_POLICY} has substitutions the tests do not know', ' '.join(sorted(set(left))))
    return text


class Bus:
    """A private dbus-daemon acting as the system bus."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.user = _user_name()
        self.socket_path = os.path.join(tmp, 'system_bus_socket')
        self.policy_path = os.path.join(tmp, 'org.hpmon.Monitor1.conf')
        self.config_path = os.path.join(tmp, 'system.conf')
        self.log_path = os.path.join(tmp, 'dbus-daemon.log')
        policy = _policy_text(self.user)
        with open(self.policy_path, 'w') as f:
            f.write(policy)
        with open(self.config_path, 'w') as f:
            f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"\n'
                    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
                    '<busconfig>\n'
                    '  <type>system</type>\n'
                    f'  <listen>unix:path={self.socket_path}</listen>\n'
                    '  <auth>EXTERNAL</auth>\n'
                    + _DEFAULT_POLICY
                    + _MONITOR_POLICY.format(user=self.user)
                    + ''.join(_service_policy(name, ifaces, self.user) for name, ifaces in _MOCKED_SERVICES)
                    + f'  <include>{self.policy_path}</include>\n'
                    '</busconfig>\n')
        self.proc = None
        self.address = None

    def start(self):
        log = open(self.log_path, 'wb')
        self.proc = Proc([DBUS_DAEMON, '--config-file=' + self.config_path, '--print-address',
                          '--nofork', '--nopidfile', '--nosyslog'],
                         'dbus-daemon', stdout=subprocess.PIPE, stderr=log)
        log.close()
        # The address is printed once the daemon listens: that is its readiness.
        r, _, _ = select.select([self.proc.popen.stdout], [], [], TIMEOUT)
        line = self.proc.popen.stdout.readline().decode().strip() if r else ''
        if not line:
            fail('dbus-daemon did not print its address', _tail(self.log_path))
        self.address = line
        os.environ['DBUS_SYSTEM_BUS_ADDRESS'] = self.address
        return self.address

    def stop(self):
        if self.proc:
            self.proc.end()
            self.proc.popen.stdout.close()


# ------------------------------------------------------------------ waiting

class Loop:
    """Runs the GLib main context until a condition holds or a deadline passes.

    The condition is evaluated first, then again after every event the main
    context dispatches (a D-Bus signal, a pipe becoming readable, a process
    exiting).  `poll` adds a periodic wake-up, for states that have no event.
    `guards` are (Proc, description): a guarded process that exits fails the wait.
    """

    def __init__(self):
        self.ctx = GLib.MainContext.default()
        self.guards = []

    def until(self, cond, what, timeout=TIMEOUT, poll=None):
        deadline = time.monotonic() + timeout
        timers = []

        def wake(*_):
            # Sources stay installed (return True) and are removed below.
            return True

        watches = []
        try:
            for proc, desc in self.guards:
                if proc.pidfd is not None:
                    watches.append(GLib.io_add_watch(proc.pidfd, GLib.PRIORITY_DEFAULT, GLib.IO_IN, wake))
            if poll:
                timers.append(GLib.timeout_add(int(poll * 1000), wake))
            timers.append(GLib.timeout_add(int(timeout * 1000) + 1, wake))
            while True:
                for proc, desc in self.guards:
                    if not proc.alive():
                        fail(f'{desc} exited (status {proc.returncode}) while waiting for {what}')
                result = cond()
                if result:
                    return result
                if time.monotonic() >= deadline:
                    fail(f'timed out after {timeout:.0f}s waiting for {what}')
                self.ctx.iteration(True)
        finally:
            for t in timers + watches:
                GLib.source_remove(t)

    def drain(self):
        """Dispatch whatever is pending without blocking."""
        while self.ctx.iteration(False):
            pass


def _unwrap(v):
    """dbus-python value → plain Python value."""
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.Byte, dbus.Int16, dbus.Int32, dbus.Int64, dbus.UInt16, dbus.UInt32, dbus.UInt64)):
        return int(v)
    if isinstance(v, dbus.Double):
        return float(v)
    if isinstance(v, (dbus.String, dbus.ObjectPath)):
        return str(v)
    if isinstance(v, (dbus.Array, list)):
        return [_unwrap(x) for x in v]
    if isinstance(v, (dbus.Struct, tuple)):
        return tuple(_unwrap(x) for x in v)
    if isinstance(v, (dbus.Dictionary, dict)):
        return {_unwrap(k): _unwrap(x) for k, x in v.items()}
    return v


def device_path(address):
    return DEVICES_PREFIX + 'dev_' + address.upper().replace(':', '_')


def log_name(address):
    return address.upper().replace(':', '_') + '.csv'


# ------------------------------------------------------------------ bluez mock

_MOCK_HELPERS = [
    # Real bluetoothd drops Battery1 when a headset disconnects.  dbusmock 0.28
    # has AddProperties but no RemoveProperties, so the mock learns one.
    ('RemoveBattery', 'o', '',
     'p = str(args[0])\n'
     'objects[p].props.pop("org.bluez.Battery1", None)\n'
     'objects["/"].EmitSignal("org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", "oas",\n'
     '    [dbus.ObjectPath(p), dbus.Array(["org.bluez.Battery1"], signature="s")])\n'),
]


class BluezMock:
    """Debian's dbusmock bluez5 template as org.bluez on the private bus."""

    def __init__(self, env):
        self.env = env
        self.proc = None
        self.runs = 0
        self.adapter = 'hci0'

    @property
    def conn(self):
        return self.env.conn

    def start(self, preload=None):
        """Start the mock and wait until it owns org.bluez.

        preload: list of dicts {address, alias, connected, percentage}: devices (on
        adapter hci0) that exist before the name is taken, so that a client's
        GetManagedObjects on NameOwnerChanged sees them.  Without it the stock
        `python3 -m dbusmock --template bluez5 --system` runs and has nothing.
        """
        if self.proc and self.proc.alive():
            fail('bluez mock already running')
        self.runs += 1
        log_path = os.path.join(self.env.tmp, f'bluez-mock-{self.runs}.log')
        log = open(log_path, 'wb')
        if preload is None:
            argv = [PYTHON3, '-m', 'dbusmock', '--template', 'bluez5', '--system']
        else:
            argv = [PYTHON3, os.path.abspath(__file__), 'bluez-mock', '--preload', json.dumps(preload)]
        self.log_path = log_path
        self.proc = Proc(argv, f'bluez mock #{self.runs}', stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.env.wait_name(BLUEZ, True, guard=(self.proc, 'the bluez mock'))
        for name, in_sig, out_sig, code in _MOCK_HELPERS:
            self.call('/', MOCK_IFACE, 'AddMethod', 'sssss', (BLUEZ_MOCK_IFACE, name, in_sig, out_sig, code))
        if preload is None:
            self.call('/', BLUEZ_MOCK_IFACE, 'AddAdapter', 'ss', (self.adapter, 'hpmon-test-host'))
        note(f'bluez mock #{self.runs} owns org.bluez (pid {self.proc.pid})')

    def kill(self, sig=signal.SIGKILL):
        """bluetoothd crashes: kill the mock, wait until org.bluez has no owner."""
        self.proc.send_signal(sig)
        self.proc.wait()
        self.env.wait_name(BLUEZ, False)
        note(f'bluez mock #{self.runs} killed, org.bluez gone')

    def stop(self):
        if self.proc:
            self.proc.end()

    def call(self, path, iface, method, sig='', args=(), timeout=TIMEOUT):
        return self.conn.call_blocking(BLUEZ, path, iface, method, sig, args, timeout=timeout)

    def bluez_path(self, address, adapter=None):
        return f'/org/bluez/{adapter or self.adapter}/dev_' + address.upper().replace(':', '_')

    def add_adapter(self, name):
        """Another adapter (AddAdapter, which announces it with InterfacesAdded)."""
        return str(self.call('/', BLUEZ_MOCK_IFACE, 'AddAdapter', 'ss', (name, f'hpmon-test-{name}')))

    def add_headset(self, address, alias, connected=True, percentage=None, adapter=None):
        """AddDevice, then ConnectDevice, then Battery1 (InterfacesAdded); on hci0 unless
        another adapter is named."""
        path = str(self.call('/', BLUEZ_MOCK_IFACE, 'AddDevice', 'sss', (adapter or self.adapter, address, alias)))
        if connected:
            self.connect(address, adapter)
        if percentage is not None:
            self.add_battery(address, percentage, adapter)
        return path

    def connect(self, address, adapter=None):
        self.call('/', BLUEZ_MOCK_IFACE, 'ConnectDevice', 'ss', (adapter or self.adapter, address))

    def disconnect(self, address):
        self.call('/', BLUEZ_MOCK_IFACE, 'DisconnectDevice', 'ss', (self.adapter, address))

    def add_battery(self, address, percentage, adapter=None):
        """Give the device Battery1 (AddProperties) and announce it (InterfacesAdded)."""
        path = self.bluez_path(address, adapter)
        value = dbus.Byte(percentage) if type(percentage) is int else percentage
        self.call(path, MOCK_IFACE, 'AddProperties', 'sa{sv}',
                  (BLUEZ_BATTERY, dbus.Dictionary({'Percentage': value}, signature='sv')))
        self.call('/', MOCK_IFACE, 'EmitSignal', 'sssav',
                  (OM_IFACE, 'InterfacesAdded', 'oa{sa{sv}}',
                   dbus.Array([dbus.ObjectPath(path),
                               dbus.Dictionary({BLUEZ_BATTERY: dbus.Dictionary({'Percentage': value},
                                                                               signature='sv')},
                                               signature='sa{sv}')], signature='v')))

    def remove_battery(self, address):
        self.call('/', BLUEZ_MOCK_IFACE, 'RemoveBattery', 'o', (dbus.ObjectPath(self.bluez_path(address)),))

    def set_percentage(self, address, value):
        """Properties.Set on the device; dbusmock emits PropertiesChanged.

        An int becomes a byte (Battery1.Percentage is 'y'); any other dbus value
        (dbus.String('80'), dbus.Byte(255)) is sent as it is.
        """
        v = dbus.Byte(value) if type(value) is int else value
        self.call(self.bluez_path(address), PROPS_IFACE, 'Set', 'ssv', (BLUEZ_BATTERY, 'Percentage', v))

    def set_device_prop(self, address, name, value):
        self.call(self.bluez_path(address), PROPS_IFACE, 'Set', 'ssv', (BLUEZ_DEVICE, name, value))

    def get_percentage(self, address):
        return int(self.call(self.bluez_path(address), PROPS_IFACE, 'Get', 'ss', (BLUEZ_BATTERY, 'Percentage')))

    def add_method(self, name, in_sig, out_sig, code):
        """A method of the test's own on org.bluez.Mock at / (dbusmock AddMethod): `args`,
        `objects` and `dbus` are in scope; setting `ret` returns it."""
        self.call('/', MOCK_IFACE, 'AddMethod', 'sssss', (BLUEZ_MOCK_IFACE, name, in_sig, out_sig, code))

    def call_async(self, path, iface, method, sig, args, on_done, timeout=TIMEOUT):
        """An asynchronous call to the mock; on_done(error or None) runs from the main loop."""
        self.conn.call_async(BLUEZ, path, iface, method, sig, args,
                             reply_handler=lambda *_: on_done(None), error_handler=on_done, timeout=timeout)


def _run_preloaded_mock(preload):
    """The bluez5 template with devices in place before org.bluez is taken."""
    import dbus.service
    import dbusmock.mockobject as mo

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    conn = dbus.bus.BusConnection(os.environ['DBUS_SYSTEM_BUS_ADDRESS'])
    main = mo.DBusMockObject(conn, '/', mo.OBJECT_MANAGER_IFACE, {}, None, True)
    mo.objects['/'] = main
    main.AddTemplate('bluez5', {})
    main.AddAdapter('hci0', 'hpmon-test-host')
    for dev in preload:
        path = main.AddDevice('hci0', dev['address'], dev.get('alias', 'headset'))
        if dev.get('connected', True):
            main.ConnectDevice('hci0', dev['address'])
        if dev.get('percentage') is not None:
            mo.objects[path].AddProperties(BLUEZ_BATTERY, {'Percentage': dbus.Byte(dev['percentage'])})
    loop = GLib.MainLoop()
    conn.add_signal_receiver(loop.quit, signal_name='Disconnected', path='/org/freedesktop/DBus/Local',
                             dbus_interface='org.freedesktop.DBus.Local')
    # Only now does bluetoothd "appear".
    name = dbus.service.BusName(BLUEZ, conn, allow_replacement=True, replace_existing=True, do_not_queue=True)
    loop.run()
    del name


# ------------------------------------------------------------------ hpmond

class Hpmond:
    """hpmond under test: NOTIFY_SOCKET readiness, stderr captured per run."""

    def __init__(self, env):
        self.env = env
        self.proc = None
        self.runs = 0
        self.stderr_path = None
        self.stderr_paths = []

    def start(self, extra_args=(), wait_ready=True, extra_env=None):
        """Starts hpmond on the test's bus; extra_env is added to its environment."""
        if not (os.path.isfile(HPMOND) and os.access(HPMOND, os.X_OK)):
            fail(f'hpmond not built: {HPMOND} (set HPMOND)')
        self.runs += 1
        notify_path = os.path.join(self.env.tmp, f'notify-{self.runs}')
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.notify.bind(notify_path)
        self.stderr_path = os.path.join(self.env.tmp, f'hpmond-{self.runs}.stderr')
        self.stderr_paths.append(self.stderr_path)
        env = dict(os.environ)
        for var in ('STATE_DIRECTORY', 'JOURNAL_STREAM', 'INVOCATION_ID', 'LISTEN_FDS', 'LISTEN_PID',
                    'WATCHDOG_USEC', 'WATCHDOG_PID'):
            env.pop(var, None)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = self.env.bus.address
        env['NOTIFY_SOCKET'] = notify_path
        env.update(extra_env or {})
        argv = [HPMOND, '--state-dir', self.env.state_dir, '--log-target', 'stderr', *extra_args]
        err = open(self.stderr_path, 'wb')
        self.proc = Proc(argv, f'hpmond #{self.runs}', env=env, stdout=err, stderr=err)
        err.close()
        self.ready = False
        self.notify_messages = []
        if wait_ready:
            self.wait_ready()
        return self.proc

    def wait_ready(self):
        """READY=1 on our NOTIFY_SOCKET, then org.hpmon.Monitor1 owned."""
        deadline = time.monotonic() + TIMEOUT
        fds = [self.notify] + ([self.proc.pidfd] if self.proc.pidfd is not None else [])
        while not self.ready:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f'hpmond #{self.runs} sent no READY=1 within {TIMEOUT:.0f}s', self.stderr_tail())
            r, _, _ = select.select(fds, [], [], min(left, 1.0) if self.proc.pidfd is None else left)
            if self.notify in r:
                msg = self.notify.recv(4096).decode(errors='replace')
                self.notify_messages.append(msg)
                if 'READY=1' in msg.split('\n'):
                    self.ready = True
                    break
            if not self.proc.alive():
                fail(f'hpmond #{self.runs} exited with status {self.proc.returncode} before READY=1',
                     self.stderr_tail())
        self.env.wait_name(BUS_NAME, True, guard=(self.proc, f'hpmond #{self.runs}'))
        self.env.loop.guards = [g for g in self.env.loop.guards if not g[1].startswith('hpmond')]
        self.env.loop.guards.append((self.proc, f'hpmond #{self.runs}'))
        note(f'hpmond #{self.runs} is ready (pid {self.proc.pid}) and owns {BUS_NAME}')

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def unguard(self):
        self.env.loop.guards = [g for g in self.env.loop.guards if g[0] is not self.proc]

    def stop(self):
        """SIGTERM: hpmond must exit 0 promptly."""
        self.unguard()
        self.proc.send_signal(signal.SIGTERM)
        status = self.proc.wait()
        self.notify.close()
        if status != 0:
            fail(f'hpmond #{self.runs} exit status on SIGTERM', f'{status}, want 0\n{self.stderr_tail()}')
        self.env.wait_name(BUS_NAME, False)
        ok(f'hpmond #{self.runs} exited 0 on SIGTERM')
        check_no_sanitizer_report(self.stderr_text(), f'hpmond #{self.runs}')

    def kill(self):
        self.unguard()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.notify.close()

    def stderr_text(self, run=None):
        path = self.stderr_path if run is None else self.stderr_paths[run - 1]
        with open(path, 'r', errors='replace') as f:
            return f.read()

    def stderr_tail(self):
        return f'--- {self.stderr_path}:\n{_tail(self.stderr_path)}'

    def stderr_size(self):
        return os.path.getsize(self.stderr_path)

    def wait_stderr(self, regex, since=0, what=None):
        """A line matching regex in stderr after byte offset `since`.

        stderr is a plain file: there is no event, so this is a bounded poll.
        """
        pat = re.compile(regex, re.M)

        def found():
            with open(self.stderr_path, 'r', errors='replace') as f:
                f.seek(since)
                m = pat.search(f.read())
            return m.group(0) if m else None
        return self.env.loop.until(found, what or f'hpmond stderr line matching {regex!r}', poll=0.05)

    def warnings(self, since=0):
        """stderr lines of priority warning or worse (<0>..<4>) after byte `since`."""
        with open(self.stderr_path, 'r', errors='replace') as f:
            f.seek(since)
            return [ln for ln in f.read().splitlines() if re.match(r'<[0-4]>', ln)]

    def rss_kib(self):
        """hpmond's resident set (VmRSS of /proc/PID/status) in KiB."""
        with open(f'/proc/{self.proc.pid}/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        fail(f'no VmRSS in /proc/{self.proc.pid}/status')

    def sanitized(self):
        """Whether hpmond runs with AddressSanitizer: its allocator keeps freed memory in
        quarantine and maps shadow memory, so its RSS says nothing about leaks."""
        with open(f'/proc/{self.proc.pid}/maps') as f:
            if 'libasan' in f.read():
                return True
        with open(HPMOND, 'rb') as f:
            return b'__asan_init' in f.read()


# ------------------------------------------------------------------ alerts (issue 5)
# The alert contract (dbus/org.hpmon.Monitor1.xml, org.hpmon.Monitor1.Manager.rst):
# an alert is (ssssddba{sd}a(ss)) = (id, address, kind, severity, raised, cleared,
# acknowledged, evidence, advice); the id is "AABBCCDDEEFF-<kind>-<raised Unix ms>".

POLKIT = 'org.freedesktop.PolicyKit1'
POLKIT_PATH = '/org/freedesktop/PolicyKit1/Authority'
POLKIT_IFACE = 'org.freedesktop.PolicyKit1.Authority'
ACTION_MANAGE_ALERTS = 'org.hpmon.Monitor1.manage-alerts'

NOTIFICATIONS = 'org.freedesktop.Notifications'
NOTIFICATIONS_PATH = '/org/freedesktop/Notifications'

ERROR_NO_SUCH_ALERT = 'org.hpmon.Monitor1.Error.NoSuchAlert'
ERROR_NOT_AUTHORIZED = 'org.hpmon.Monitor1.Error.NotAuthorized'
ERROR_NO_SUCH_DEVICE = 'org.hpmon.Monitor1.Error.NoSuchDevice'
ERROR_INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs'

# DESIGN.md's table, in the order of lib/finding.h (charge logs name kinds by index).
KINDS = ('charge-stall', 'slow-charge', 'intermittent-charge', 'fast-drain', 'battery-degraded',
         'sudden-drop', 'not-holding-charge', 'connection-unstable', 'low-battery', 'deep-discharge-risk')
SEVERITIES = ('info', 'warning', 'critical')
ALERT_SIGNATURE = '(ssssddba{sd}a(ss))'
ALERT_FIELDS = ('id', 'address', 'kind', 'severity', 'raised', 'cleared', 'acknowledged', 'evidence', 'advice')
_ALERT_ID = re.compile(r'^([0-9A-F]{12})-([a-z-]+)-(\d+)$')


def alert_from_dbus(value):
    """One alert struct → a dict of ALERT_FIELDS; advice as [{'ref', 'title'}] like hpctl's JSON."""
    v = _unwrap(value)
    if not isinstance(v, tuple) or len(v) != len(ALERT_FIELDS):
        fail(f'an alert is a {ALERT_SIGNATURE} struct', repr(v))
    a = dict(zip(ALERT_FIELDS, v))
    a['advice'] = [{'ref': r, 'title': title} for r, title in a['advice']]
    return a


def alerts_from_dbus(value):
    return [alert_from_dbus(x) for x in value]


def alert_id(address, kind, raised_ms):
    return f'{address.replace(":", "").upper()}-{kind}-{int(raised_ms)}'


def check_alert(a, what, address=None, kind=None, json_=False):
    """Every field of one alert (a dict, from D-Bus or, json_=True, from hpctl's
    --json, where an active alert's cleared may be null) is well formed."""
    problems = []
    m = _ALERT_ID.match(str(a.get('id', '')))
    if not m:
        problems.append(f'id {a.get("id")!r} is not AABBCCDDEEFF-<kind>-<ms>')
    if a.get('kind') not in KINDS:
        problems.append(f'kind {a.get("kind")!r} is none of the ten')
    if m and m.group(2) != a.get('kind'):
        problems.append('id names another kind')
    if a.get('severity') not in SEVERITIES:
        problems.append(f'severity {a.get("severity")!r}')
    raised = a.get('raised')
    if not isinstance(raised, (int, float)) or isinstance(raised, bool) or raised <= 0:
        problems.append(f'raised {raised!r}')
    elif m and abs(int(m.group(3)) - raised * 1000) > 1.0:
        problems.append(f'id says raised at {m.group(3)} ms, raised is {raised}')
    cleared = a.get('cleared')
    if json_ and cleared is None:
        cleared = 0
    if not isinstance(cleared, (int, float)) or isinstance(cleared, bool) or \
            (cleared != 0 and isinstance(raised, (int, float)) and cleared < raised):
        problems.append(f'cleared {cleared!r} (0 or at/after raised)')
    if not isinstance(a.get('acknowledged'), bool):
        problems.append(f'acknowledged {a.get("acknowledged")!r}')
    ev = a.get('evidence')
    if not isinstance(ev, dict) or not all(isinstance(k, str) and isinstance(x, (int, float)) for k, x in ev.items()):
        problems.append(f'evidence {ev!r} (names → numbers)')
    adv = a.get('advice')
    if not isinstance(adv, list) or not all(isinstance(x, dict) and isinstance(x.get('ref'), str)
                                            and isinstance(x.get('title'), str) for x in adv):
        problems.append(f'advice {adv!r} ([{{ref, title}}])')
    if address is not None:
        if 'address' in a and a['address'] != address:
            problems.append(f'address {a["address"]!r}, want {address!r}')
        if m and m.group(1) != address.replace(':', '').upper():
            problems.append(f'id is not for {address}')
    if kind is not None and a.get('kind') != kind:
        problems.append(f'kind {a.get("kind")!r}, want {kind!r}')
    if problems:
        fail(f'{what}: alert well formed', '; '.join(problems) + f'\n{a!r}')
    ok(f'{what}: alert well formed ({a["id"]}, {a["severity"]})')


def _alert_matches(a, want):
    return all(a.get(k) == v for k, v in want.items())


class DbusMockService:
    """A dbusmock template run as a service on one of our buses; its calls are
    seen through the MethodCalled signal every dbusmock object emits."""

    def __init__(self, env, template, bus_name, path, system=True, conn=None, bus_address=None):
        self.env = env
        self.template = template
        self.bus_name = bus_name
        self.path = path
        self.system = system
        self.conn = conn or env.conn
        self.bus_address = bus_address or env.bus.address
        self.proc = None
        self.runs = 0
        self.calls = []       # {'time', 'method', 'args'} in the order the mock got them
        self.conn.add_signal_receiver(self._on_called, signal_name='MethodCalled', dbus_interface=MOCK_IFACE,
                                      path=path)

    def _on_called(self, method, args):
        self.calls.append({'time': time.time(), 'method': str(method), 'args': _unwrap(args), 'raw': args})

    def start(self, parameters=None):
        if self.proc and self.proc.alive():
            fail(f'{self.template} mock already running')
        self.runs += 1
        self.log_path = os.path.join(self.env.tmp, f'{self.template}-mock-{self.runs}.log')
        argv = [PYTHON3, '-m', 'dbusmock', '--template', self.template,
                '--system' if self.system else '--session', '-l', self.log_path]
        if parameters:
            argv += ['-p', json.dumps(parameters)]
        env = dict(os.environ)
        env['DBUS_SYSTEM_BUS_ADDRESS' if self.system else 'DBUS_SESSION_BUS_ADDRESS'] = self.bus_address
        out_path = self.log_path + '.out'
        out = open(out_path, 'wb')
        self.proc = Proc(argv, f'{self.template} mock #{self.runs}', env=env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.env.procs.append(self.proc)
        self.env.diag_files += [self.log_path, out_path]
        self.env.wait_name_on(self.conn, self.bus_name, True, guard=(self.proc, f'the {self.template} mock'))
        note(f'{self.template} mock #{self.runs} owns {self.bus_name} (pid {self.proc.pid})')

    def stop(self):
        if self.proc:
            self.proc.end()
            self.env.wait_name_on(self.conn, self.bus_name, False)

    def call(self, iface, method, sig='', args=()):
        return self.conn.call_blocking(self.bus_name, self.path, iface, method, sig, args, timeout=TIMEOUT)

    def mark(self):
        self.env.loop.drain()
        return len(self.calls)

    def called(self, method, since=0):
        return [c for c in self.calls[since:] if c['method'] == method]

    def get_calls(self, method):
        """The mock's own record (GetMethodCalls): the truth, whatever signals we missed."""
        return [_unwrap(args) for _, args in self.call(MOCK_IFACE, 'GetMethodCalls', 's', (method,))]


class PolkitMock(DbusMockService):
    """dbusmock's polkitd as org.freedesktop.PolicyKit1: every action is refused
    until set_allowed() lists it.  checks() are the CheckAuthorization calls."""

    def __init__(self, env):
        super().__init__(env, 'polkitd', POLKIT, POLKIT_PATH, system=True)

    def start(self, allowed=()):
        super().start()
        self.set_allowed(allowed)

    def set_allowed(self, actions):
        self.call(MOCK_IFACE, 'SetAllowed', 'as', (dbus.Array(list(actions), signature='s'),))
        note(f'polkit mock allows {list(actions) or "nothing"}')

    def wait_checks(self, since=0):
        """At least one CheckAuthorization after mark `since` (MethodCalled is emitted
        before the mock answers, so it is here by the time the caller has its answer;
        this only spares the test a race with our own dispatching)."""
        return self.env.loop.until(lambda: self.checks(since), 'a CheckAuthorization call on the polkit mock')

    def checks(self, since=0):
        """[{'subject': (kind, details), 'action': str, 'details': {}, 'flags': int}]
        after mark `since`; call mark() or drain first for the latest."""
        out = []
        for c in self.called('CheckAuthorization', since):
            subject, action, details, flags, _cancel = c['args']
            out.append({'subject': subject, 'action': action, 'details': details, 'flags': flags})
        return out


class SessionBus:
    """A private dbus-daemon acting as a desktop session's bus.

    Its configuration is Debian's /usr/share/dbus-1/session.conf without the
    service directories and includes: nothing is ever activated, so a real
    notification daemon on the machine can never answer in place of the mock.
    """

    def __init__(self, env):
        self.env = env
        tmp = env.tmp
        self.socket_path = os.path.join(tmp, 'session_bus_socket')
        self.config_path = os.path.join(tmp, 'session.conf')
        self.log_path = os.path.join(tmp, 'session-dbus-daemon.log')
        with open(self.config_path, 'w') as f:
            f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"\n'
                    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
                    '<busconfig>\n'
                    '  <type>session</type>\n'
                    '  <keep_umask/>\n'
                    f'  <listen>unix:path={self.socket_path}</listen>\n'
                    '  <auth>EXTERNAL</auth>\n'
                    '  <policy context="default">\n'
                    '    <allow send_destination="*" eavesdrop="true"/>\n'
                    '    <allow eavesdrop="true"/>\n'
                    '    <allow own="*"/>\n'
                    '  </policy>\n'
                    '</busconfig>\n')
        self.proc = None
        self.address = None
        self.conn = None

    def start(self):
        log = open(self.log_path, 'wb')
        self.proc = Proc([DBUS_DAEMON, '--config-file=' + self.config_path, '--print-address',
                          '--nofork', '--nopidfile', '--nosyslog'],
                         'session dbus-daemon', stdout=subprocess.PIPE, stderr=log)
        log.close()
        self.env.procs.append(self.proc)
        self.env.diag_files.append(self.log_path)
        r, _, _ = select.select([self.proc.popen.stdout], [], [], TIMEOUT)
        line = self.proc.popen.stdout.readline().decode().strip() if r else ''
        if not line:
            fail('session dbus-daemon did not print its address', _tail(self.log_path))
        self.address = line
        self.conn = dbus.bus.BusConnection(self.address)
        self.env.cleanups.append(self.conn.close)
        note(f'private session bus at {self.address}')
        return self.address


class NotificationMock(DbusMockService):
    """dbusmock's notification_daemon as org.freedesktop.Notifications on a SessionBus."""

    def __init__(self, env, session):
        super().__init__(env, 'notification_daemon', NOTIFICATIONS, NOTIFICATIONS_PATH, system=False,
                         conn=session.conn, bus_address=session.address)

    FIELDS = ('app_name', 'replaces_id', 'icon', 'summary', 'body', 'actions', 'hints', 'timeout')

    def notifications(self, since=0):
        """The Notify calls seen since mark `since`, as dicts of FIELDS; 'urgency_type'
        is the D-Bus type of the urgency hint ('y' as the specification says)."""
        out = []
        for c in self.called('Notify', since):
            n = dict(zip(self.FIELDS, c['args']), time=c['time'])
            u = dict(c['raw'][6]).get('urgency') if len(c['raw']) > 6 else None
            n['urgency_type'] = None if u is None else 'y' if isinstance(u, dbus.Byte) else type(u).__name__
            out.append(n)
        return out

    def recorded(self):
        """The Notify calls as the mock itself recorded them (GetMethodCalls)."""
        return [dict(zip(self.FIELDS, args)) for args in self.get_calls('Notify')]

    def wait_notify(self, pred, what, since=0):
        return self.env.loop.until(lambda: next((n for n in self.notifications(since) if pred(n)), None),
                                   f'a Notify call on the mock notification daemon: {what}')


# ------------------------------------------------------------------ charge log

class ChargeLog:
    """A charge log v1 file read strictly (DESIGN.md, "Charge log v1")."""

    LINE = re.compile(r'^(\d+\.\d{3}),(connected|battery|ack|mute|unmute),(-?\d+)$')
    # The owner's own events (issue 5) name a finding kind by its index in
    # DESIGN.md's table (lib/event.h); mute/unmute may say -1, all kinds.
    KINDS = KINDS
    ALL_KINDS = -1

    def __init__(self, path):
        self.path = path
        with open(path, 'rb') as f:
            self.raw = f.read()
        self.text = self.raw.decode('utf-8')
        self.torn = bool(self.text) and not self.text.endswith('\n')
        self.comments = []
        self.header = None
        self.events = []      # (time, event, value)
        self.bad = []         # (lineno, line) that do not parse
        lines = self.text.split('\n')
        if not self.torn:
            lines = lines[:-1]
        for n, line in enumerate(lines, 1):
            if line.startswith('#'):
                self.comments.append(line)
            elif self.header is None:
                self.header = line
            else:
                m = self.LINE.match(line)
                if m:
                    self.events.append((float(m.group(1)), m.group(2), int(m.group(3))))
                else:
                    self.bad.append((n, line))
        self.meta = {}
        for c in self.comments:
            m = re.match(r'#\s*(\w+)=(.*)$', c)
            if m:
                self.meta[m.group(1)] = m.group(2)

    def values(self, event):
        return [v for (_, e, v) in self.events if e == event]

    def owner_events(self):
        """ack/mute/unmute lines as (event, kind name or "" for all kinds), in order."""
        return [(e, '' if v == self.ALL_KINDS else self.KINDS[v] if 0 <= v < len(self.KINDS) else v)
                for (_, e, v) in self.events if e in ('ack', 'mute', 'unmute')]

    def check_well_formed(self, address, name=None):
        check(self.comments[:1] == ['# hpmon charge log v1'], f'{os.path.basename(self.path)}: first line is "# hpmon charge log v1"',
              repr(self.comments[:1]))
        check(self.meta.get('address') == address, f'log header has address={address}', repr(self.meta))
        if name is not None:
            check(self.meta.get('name') == name, f'log header has name={name}', repr(self.meta))
        check(self.header == 'time,event,value', 'log has the header line "time,event,value"', repr(self.header))
        check(not self.torn, 'log ends with a newline (no torn last line)', repr(self.text[-40:]))
        check(not self.bad, 'every log line parses as time,event,value', repr(self.bad))
        for t, e, v in self.events:
            if e == 'battery' and not 0 <= v <= 100:
                fail('battery value outside 0-100 in log', f'{t},{e},{v}')
            if e == 'connected' and v not in (0, 1):
                fail('connected value not 0/1 in log', f'{t},{e},{v}')
            if e == 'ack' and not 0 <= v < len(self.KINDS):
                fail('ack value is not a finding kind in log', f'{t},{e},{v}')
            if e in ('mute', 'unmute') and not self.ALL_KINDS <= v < len(self.KINDS):
                fail(f'{e} value is not a finding kind or -1 in log', f'{t},{e},{v}')
        ok('every logged value is in range (battery 0-100, connected 0/1, kinds 0-9 or -1)')
        last = {}
        for t, e, v in self.events:
            if e not in ('connected', 'battery'):
                continue      # two episodes may be acknowledged one after the other
            if last.get(e) == v:
                fail('log has two consecutive equal values for one event', f'{e},{v} at {t}\n{self.text}')
            last[e] = v
        ok('no value logged twice in a row')

    def dump(self):
        return f'--- {self.path}:\n{self.text}'


# ------------------------------------------------------------------ the world

class Env:
    """One test's private world; a context manager that always cleans up."""

    def __init__(self, name):
        self.name = name
        self.procs = []
        self.cleanups = []       # callables run first on exit, last added first
        self.diag_files = []     # more files shown when a test fails

    def __enter__(self):
        _require_imports()
        for tool in (DBUS_DAEMON,):
            if not os.access(tool, os.X_OK):
                skip(f'{tool} not found (set DBUS_DAEMON)')
        dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
        self.tmp = tempfile.mkdtemp(prefix=f'hpmon-{self.name}-')
        self.conn = None
        self.bus = self.mock = self.hpmond = None
        try:
            return self._setup()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise

    def _setup(self):
        # Others (nobody, in the policy test) must reach the bus socket in here.
        os.chmod(self.tmp, 0o755)
        self.state_dir = os.path.join(self.tmp, 'state')
        os.mkdir(self.state_dir, 0o755)
        self.loop = Loop()
        self.mock = BluezMock(self)
        self.hpmond = Hpmond(self)
        self.bus = Bus(self.tmp)
        self.bus.start()
        note(f'private system bus at {self.bus.address} (policy {HPMON_POLICY})')
        self.conn = dbus.bus.BusConnection(self.bus.address)
        self.owners = {}
        self.changes = []        # PropertiesChanged from hpmond's objects
        self.added = []          # InterfacesAdded on hpmond's ObjectManager
        self.removed = []
        self.conn.add_signal_receiver(self._on_owner_changed, signal_name='NameOwnerChanged',
                                      dbus_interface=DBUS_NAME, bus_name=DBUS_NAME, path=DBUS_PATH)
        # No sender filter: hpmond restarts get new unique names.  Paths tell ours.
        self.conn.add_signal_receiver(self._on_props_changed, signal_name='PropertiesChanged',
                                      dbus_interface=PROPS_IFACE, path_keyword='path',
                                      sender_keyword='sender')
        self.conn.add_signal_receiver(self._on_ifaces_added, signal_name='InterfacesAdded',
                                      dbus_interface=OM_IFACE, path_keyword='path')
        self.conn.add_signal_receiver(self._on_ifaces_removed, signal_name='InterfacesRemoved',
                                      dbus_interface=OM_IFACE, path_keyword='path')
        self.alert_signals = []  # AlertRaised/AlertCleared from hpmond's manager
        for member in ('AlertRaised', 'AlertCleared'):
            self.conn.add_signal_receiver(self._on_alert_signal, signal_name=member, dbus_interface=MANAGER_IFACE,
                                          member_keyword='member', path_keyword='path', sender_keyword='sender')
        return self

    def __exit__(self, exc_type, exc, tb):
        failed = exc_type is not None and not issubclass(exc_type, TestSkip)
        if failed and self.bus is not None:
            self.dump_diagnostics()
        for c in reversed(self.cleanups):
            try:
                c()
            except Exception:  # pylint: disable=broad-except
                traceback.print_exc()
        for p in reversed(self.procs):
            p.end()
        if self.hpmond is not None and self.hpmond.proc is not None:
            self.hpmond.proc.end()
        if self.mock is not None:
            self.mock.stop()
        if self.conn is not None:
            self.conn.close()
        if self.bus is not None:
            self.bus.stop()
        if os.environ.get('HPMON_TEST_KEEP') or (failed and os.environ.get('HPMON_TEST_KEEP_FAILED')):
            note(f'kept {self.tmp}')
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False

    def dump_diagnostics(self):
        print('# ---- diagnostics', flush=True)
        for path in self.hpmond.stderr_paths:
            print(f'# --- {path}:\n{_tail(path)}', flush=True)
        devdir = os.path.join(self.state_dir, 'devices')
        if os.path.isdir(devdir):
            for n in sorted(os.listdir(devdir)):
                print(f'# --- {os.path.join(devdir, n)}:\n{_tail(os.path.join(devdir, n), 80)}', flush=True)
        if getattr(self.mock, 'log_path', None):
            print(f'# --- {self.mock.log_path} (tail):\n{_tail(self.mock.log_path, 25)}', flush=True)
        for path in self.diag_files:
            print(f'# --- {path} (tail):\n{_tail(path, 40)}', flush=True)
        print(f'# --- {self.bus.log_path}:\n{_tail(self.bus.log_path)}', flush=True)

    # signal handlers (they only record; waits look at the records)

    def _on_owner_changed(self, name, old, new):
        self.owners[str(name)] = str(new)

    def _on_props_changed(self, iface, changed, invalidated, path=None, sender=None):
        if not str(path).startswith(MANAGER_PATH):
            return
        self.changes.append({'time': time.time(), 'path': str(path), 'iface': str(iface),
                             'changed': _unwrap(changed), 'invalidated': _unwrap(invalidated),
                             'sender': str(sender)})

    def _on_ifaces_added(self, obj, ifaces, path=None):
        if str(path) == MANAGER_PATH:
            self.added.append((str(obj), _unwrap(ifaces)))

    def _on_ifaces_removed(self, obj, ifaces, path=None):
        if str(path) == MANAGER_PATH:
            self.removed.append((str(obj), _unwrap(ifaces)))

    def _on_alert_signal(self, *args, member=None, path=None, sender=None):
        if str(path) != MANAGER_PATH:
            return
        if len(args) != 1:
            fail(f'{member} carries one alert', repr(args))
        self.alert_signals.append({'signal': str(member), 'alert': alert_from_dbus(args[0]), 'time': time.time(),
                                   'sender': str(sender)})

    # bus names

    def name_owner(self, name):
        try:
            return str(self.conn.call_blocking(DBUS_NAME, DBUS_PATH, DBUS_NAME, 'GetNameOwner', 's', (name,)))
        except dbus.DBusException:
            return ''

    def wait_name_on(self, conn, name, present, guard=None):
        """NameOwnerChanged on any bus connection (a session bus): `name` has (or has no) owner."""
        seen = {}

        def changed(n, old, new):
            seen[str(n)] = str(new)
        rx = conn.add_signal_receiver(changed, signal_name='NameOwnerChanged', dbus_interface=DBUS_NAME,
                                      bus_name=DBUS_NAME, path=DBUS_PATH, arg0=name)
        saved = list(self.loop.guards)
        if guard:
            self.loop.guards.append(guard)
        try:
            initial = bool(conn.call_blocking(DBUS_NAME, DBUS_PATH, DBUS_NAME, 'NameHasOwner', 's', (name,)))
            self.loop.until(lambda: bool(seen.get(name, initial)) == present,
                            f'{name} to {"appear" if present else "vanish"} on the bus')
        finally:
            self.loop.guards = saved
            rx.remove()

    def wait_name(self, name, present, guard=None):
        """NameOwnerChanged: wait until `name` has (or has no) owner."""
        self.owners.pop(name, None)
        initial = self.name_owner(name)   # after subscribing: no lost update

        def cond():
            owner = self.owners.get(name, initial)
            return bool(owner) == present
        saved = list(self.loop.guards)
        if guard:
            self.loop.guards.append(guard)
        try:
            self.loop.until(cond, f'{name} to {"appear" if present else "vanish"} on the bus')
        finally:
            self.loop.guards = saved

    # hpmond's API

    def call(self, path, iface, method, sig='', args=(), timeout=TIMEOUT):
        return self.conn.call_blocking(BUS_NAME, path, iface, method, sig, args, timeout=timeout)

    def manager_props(self):
        return _unwrap(self.call(MANAGER_PATH, PROPS_IFACE, 'GetAll', 's', (MANAGER_IFACE,)))

    def get_device(self, address):
        return str(self.call(MANAGER_PATH, MANAGER_IFACE, 'GetDevice', 's', (address,)))

    def device_props(self, path):
        return _unwrap(self.call(path, PROPS_IFACE, 'GetAll', 's', (DEVICE_IFACE,)))

    def history(self, path, since=0.0):
        return _unwrap(self.call(path, DEVICE_IFACE, 'GetHistory', 'd', (dbus.Double(since),)))

    def managed_objects(self):
        return _unwrap(self.call(MANAGER_PATH, OM_IFACE, 'GetManagedObjects'))

    def barrier(self):
        """A round trip to hpmond.  sd-bus handles messages in order, so once this
        returns hpmond has dispatched every signal the bus routed to it before."""
        self.call(MANAGER_PATH, PROPS_IFACE, 'Get', 'ss', (MANAGER_IFACE, 'Version'))

    def wait_device(self, address):
        """GetDevice succeeds (re-tried on every InterfacesAdded / signal)."""
        def cond():
            try:
                return self.get_device(address)
            except dbus.DBusException as e:
                if e.get_dbus_name() in ('org.hpmon.Monitor1.Error.NoSuchDevice',):
                    return None
                raise
        return self.loop.until(cond, f'hpmond to publish device {address}')

    def wait_props(self, path, what=None, **want):
        """Device properties equal `want` (checked now, then on every signal)."""
        def cond():
            try:
                props = self.device_props(path)
            except dbus.DBusException as e:
                if e.get_dbus_name() in ('org.freedesktop.DBus.Error.UnknownObject',
                                         'org.freedesktop.DBus.Error.UnknownInterface',
                                         'org.freedesktop.DBus.Error.UnknownMethod'):
                    return None
                raise
            return props if all(props.get(k) == v for k, v in want.items()) else None
        return self.loop.until(cond, what or f'{path} to show {want}')

    def wait_manager_prop(self, name, value):
        return self.loop.until(lambda: self.manager_props().get(name) == value,
                               f'Manager.{name} to become {value!r}')

    def mark(self):
        """A position in the record of PropertiesChanged, for published(since=...).

        Signals already received (queued while a blocking call waited for its
        reply) are dispatched first, so they are not taken for later ones."""
        self.loop.drain()
        return len(self.changes)

    def published(self, path, prop, since=0):
        return [c['changed'][prop] for c in self.changes[since:]
                if c['path'] == path and c['iface'] == DEVICE_IFACE and prop in c['changed']]

    def wait_manager_published(self, prop, value, since):
        """PropertiesChanged on the Manager carrying prop=value, after mark `since`."""
        return self.loop.until(lambda: any(c['path'] == MANAGER_PATH and c['iface'] == MANAGER_IFACE
                                           and c['changed'].get(prop, object()) == value
                                           for c in self.changes[since:]),
                               f'PropertiesChanged Manager.{prop}={value!r}')

    def wait_published(self, path, prop, value, since):
        """PropertiesChanged from hpmond carrying prop=value, after mark `since`."""
        return self.loop.until(lambda: value in self.published(path, prop, since),
                               f'PropertiesChanged {prop}={value!r} on {path}')

    # alerts (issue 5)

    def manager_alerts(self):
        """Manager.Alerts: the active alerts that are not muted."""
        return alerts_from_dbus(self.call(MANAGER_PATH, PROPS_IFACE, 'Get', 'ss', (MANAGER_IFACE, 'Alerts')))

    def device_alerts(self, path):
        return alerts_from_dbus(self.call(path, PROPS_IFACE, 'Get', 'ss', (DEVICE_IFACE, 'Alerts')))

    def get_alerts(self, all_=False):
        """Manager.GetAlerts(all): active ones, or every one kept, cleared too."""
        return alerts_from_dbus(self.call(MANAGER_PATH, MANAGER_IFACE, 'GetAlerts', 'b', (dbus.Boolean(all_),)))

    def acknowledge(self, alert_id_):
        self.call(MANAGER_PATH, MANAGER_IFACE, 'Acknowledge', 's', (alert_id_,))

    def mute(self, address, kind=''):
        self.call(MANAGER_PATH, MANAGER_IFACE, 'Mute', 'ss', (address, kind))

    def unmute(self, address, kind=''):
        self.call(MANAGER_PATH, MANAGER_IFACE, 'Unmute', 'ss', (address, kind))

    def call_error(self, fn, *args):
        """The D-Bus error name a call fails with, or None if it succeeds."""
        try:
            fn(*args)
        except dbus.DBusException as e:
            note(f'{getattr(fn, "__name__", fn)}{args} → {e.get_dbus_name()}: {e.get_dbus_message()}')
            return e.get_dbus_name()
        return None

    def alert_mark(self):
        """A position in the record of AlertRaised/AlertCleared (queued ones dispatched first)."""
        self.loop.drain()
        return len(self.alert_signals)

    def alert_signals_since(self, since=0, signal_=None, **want):
        """[alert] carried by the signals after mark `since`, of one member if given,
        whose fields equal `want` (kind=..., address=..., severity=...)."""
        return [s['alert'] for s in self.alert_signals[since:]
                if (signal_ is None or s['signal'] == signal_) and _alert_matches(s['alert'], want)]

    def wait_alert_signal(self, signal_, since=0, **want):
        """AlertRaised or AlertCleared after mark `since` carrying an alert with `want`."""
        return self.loop.until(lambda: next(iter(self.alert_signals_since(since, signal_, **want)), None),
                               f'{signal_} with {want}')

    def wait_alerts(self, cond, what):
        """cond(Manager.Alerts) holds: checked now and after every signal (Alerts
        emits PropertiesChanged, AlertRaised/AlertCleared come with it)."""
        return self.loop.until(lambda: cond(self.manager_alerts()), what)

    def wait_manager_changed(self, prop, since, pred=None):
        """PropertiesChanged on the Manager naming `prop` (its value satisfying
        pred, if given) after mark `since`."""
        def found():
            for c in self.changes[since:]:
                if c['path'] != MANAGER_PATH or c['iface'] != MANAGER_IFACE:
                    continue
                if prop in c['changed'] and (pred is None or pred(c['changed'][prop])):
                    return c
                if prop in c['invalidated'] and pred is None:
                    return c
            return None
        return self.loop.until(found, f'PropertiesChanged Manager.{prop}')

    def write_config(self, text, name='hpmon.conf'):
        """A config file for `hpmond --config FILE`."""
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    # the charge log

    def log_path(self, address):
        return os.path.join(self.state_dir, 'devices', log_name(address))

    def read_log(self, address):
        path = self.log_path(address)
        if not os.path.exists(path):
            fail(f'no charge log at {path}')
        return ChargeLog(path)

    def write_known_log(self, address, name):
        """A charge log that makes hpmond know a headset before BlueZ says anything of it:
        connected, at 40 %, in 2023 (for what hpmond does about the headsets it knows)."""
        os.makedirs(os.path.join(self.state_dir, 'devices'), exist_ok=True)
        with open(self.log_path(address), 'w') as f:
            f.write(f'# hpmon charge log v1\n# address={address}\n# name={name}\ntime,event,value\n'
                    '1700000000.000,connected,1\n1700000000.000,battery,40\n')

    # hpctl

    def hpctl(self, *args, user=None, env_extra=None, timeout=TIMEOUT):
        """Run hpctl to completion; returns CompletedProcess (text)."""
        if not (os.path.isfile(HPCTL) and os.access(HPCTL, os.X_OK)):
            fail(f'hpctl not built: {HPCTL} (set HPCTL)')
        argv = [HPCTL, *args]
        if user is not None:
            argv = self.as_user(user, argv)
        env = dict(os.environ)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = self.bus.address
        env['NO_COLOR'] = '1'
        env.update(env_extra or {})
        try:
            r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=timeout, preexec_fn=_die_with_parent)
        except subprocess.TimeoutExpired:
            fail(f'`hpctl {" ".join(args)}` did not finish within {timeout:.0f}s')
        note(f'$ hpctl {" ".join(args)}{" (as " + user + ")" if user else ""} → exit {r.returncode}')
        check_no_sanitizer_report(r.stderr, f'hpctl {" ".join(args)}')
        if VERBOSE:
            for line in r.stdout.splitlines():
                print('#   | ' + line)
            for line in r.stderr.splitlines():
                print('#   ! ' + line)
        return r

    def hpctl_json(self, *args, user=None):
        r = self.hpctl(*args, user=user)
        if r.returncode != 0:
            fail(f'`hpctl {" ".join(args)}` exit status', f'{r.returncode}\n{r.stderr}')
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            fail(f'`hpctl {" ".join(args)}` prints JSON', f'{e}: {r.stdout!r}')

    def as_user(self, user, argv):
        pw = pwd.getpwnam(user)
        if os.getuid() != 0:
            skip(f'running as {user} needs root')
        setpriv = shutil.which('setpriv')
        if not setpriv:
            skip('setpriv (util-linux) not found')
        return [setpriv, f'--reuid={pw.pw_uid}', f'--regid={pw.pw_gid}', '--clear-groups', *argv]

    def spawn_monitor(self, *args, user=None, on_line=None):
        """Start `hpctl monitor ARGS` and wait until its signal matches are in place."""
        if not (os.path.isfile(HPCTL) and os.access(HPCTL, os.X_OK)):
            fail(f'hpctl not built: {HPCTL} (set HPCTL)')
        mon = MatchWatch(self)
        env = dict(os.environ)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = self.bus.address
        env['NO_COLOR'] = '1'
        argv = [HPCTL, 'monitor', *args]
        if user is not None:
            argv = self.as_user(user, argv)
        proc = Proc(argv, 'hpctl monitor', env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(proc)
        lines = LineReader(proc.popen.stdout, on_line)
        errs = LineReader(proc.popen.stderr)
        proc.lines = lines
        proc.errs = errs

        def ready():
            if not proc.alive():
                fail('hpctl monitor exited early', f'status {proc.returncode}: {"".join(errs.lines)}')
            return mon.client_ready(proc.pid)
        self.loop.until(ready, 'hpctl monitor to add its PropertiesChanged match')
        mon.close()
        note(f'hpctl monitor (pid {proc.pid}) has its matches in place')
        return proc

    def dbus_send(self, dest, path, method, *args, user=None):
        """`dbus-send --system --print-reply` (as `user`); returns (error name or
        None, CompletedProcess).  method is "interface.Member"; args in
        dbus-send's syntax ("string:…")."""
        tool = shutil.which('dbus-send')
        if not tool:
            skip('dbus-send not found')
        argv = [tool, '--system', '--print-reply', f'--dest={dest}', path, method, *args]
        if user is not None:
            argv = self.as_user(user, argv)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=_die_with_parent,
                           env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address))
        m = re.match(r'Error (\S+?):', r.stderr.strip())
        err = m.group(1) if r.returncode != 0 and m else ('(failed)' if r.returncode != 0 else None)
        note(f'$ dbus-send {method.rsplit(".", 1)[-1]} {" ".join(args)}{" (as " + user + ")" if user else ""}'
             f' → {err or "ok"}')
        return err, r

    def hpctl_as_user_ok(self, user):
        """Make HPCTL runnable by `user` (a copy in our world if the tree is not
        reachable) and the bus socket reachable; skips when that cannot be."""
        global HPCTL  # pylint: disable=global-statement
        probe = subprocess.run(self.as_user(user, ['/usr/bin/test', '-w', self.bus.socket_path, '-a', '-x', HPCTL]))
        if probe.returncode != 0:
            copy = os.path.join(self.tmp, 'hpctl')
            shutil.copy(HPCTL, copy)
            os.chmod(copy, 0o755)
            note(f'{user} cannot run {HPCTL} where it is; using a copy in {self.tmp}')
            HPCTL = copy
            probe = subprocess.run(self.as_user(user, ['/usr/bin/test', '-w', self.bus.socket_path, '-a', '-x',
                                                       HPCTL]))
            if probe.returncode != 0:
                skip(f'{user} cannot reach {self.bus.socket_path} or run {HPCTL}')

    def session(self):
        """A private session bus with dbusmock's notification daemon on it, once per test."""
        if getattr(self, '_session', None) is None:
            bus = SessionBus(self)
            bus.start()
            notifier = NotificationMock(self, bus)
            notifier.start()
            self._session = (bus, notifier)
        return self._session

    def wait_remembered(self, agent, ids):
        """The agent's memory ($XDG_STATE_HOME/hpmon/notified) names every id in
        `ids`.  It is a plain file, written when Notify's reply arrives: there is
        no event, so this is a bounded poll."""
        path = os.path.join(agent.state_home, 'hpmon', 'notified')

        def remembered():
            try:
                with open(path) as f:
                    text = f.read()
            except OSError:
                return None
            return text if all(i in text for i in ids) else None
        return self.loop.until(remembered, f'{path} to name {", ".join(ids)}', poll=0.05)

    def stop_notify(self, agent):
        """Stop an agent from spawn_notify() once it is quiet: every call it made to
        hpmond and to the notification daemon has its answer.  SIGTERM; it must
        exit 0."""
        try:
            self.loop.until(lambda: agent.watch.client_idle(agent.pid)
                            and not agent.session_watch.client_unanswered(agent.pid),
                            f'{agent.name} to have every answer from hpmond and the notification daemon')
        except TestFailure as e:
            raise TestFailure(f'{e}; unanswered: hpmond {agent.watch.client_unanswered(agent.pid)}, '
                              f'notification daemon {agent.session_watch.client_unanswered(agent.pid)}') from None
        self.loop.guards = [g for g in self.loop.guards if g[0] is not agent]
        agent.send_signal(signal.SIGTERM)
        status = agent.wait()
        check_no_sanitizer_report('\n'.join(agent.errs.lines), agent.name)
        if status != 0:
            fail(f'{agent.name} exit status on SIGTERM', f'{status}, want 0: {" | ".join(agent.errs.lines)}')
        ok(f'{agent.name} exited 0 on SIGTERM')

    @staticmethod
    def _covers_alert_raised(rule):
        if 'AlertRaised' in rule:
            return True
        return "member=" not in rule and ("interface='org.hpmon.Monitor1.Manager'" in rule
                                          or ("interface=" not in rule and "type='signal'" in rule))

    def spawn_notify(self, *args, session=None, state_home=None, env_extra=None, expect_calls=True, name=None):
        """Start `hpctl notify ARGS` (the desktop agent) and wait until it is ready:
        the bus has answered its AddMatch for AlertRaised and, with expect_calls,
        it has asked hpmond for what is active (any call) and has every answer —
        from then on an alert raised reaches it as a signal, and what it
        found at start is in its hands.  The returned Proc has .lines, .errs,
        .watch (a MatchWatch on the system bus that keeps recording its calls to
        hpmond: .watch.client_requests(pid), .watch.client_idle(pid)) and
        .session_watch (the same for its calls to the notification daemon)."""
        if not (os.path.isfile(HPCTL) and os.access(HPCTL, os.X_OK)):
            fail(f'hpctl not built: {HPCTL} (set HPCTL)')
        if session is None:
            session = self.session()[0]
        state_home = state_home or os.path.join(self.tmp, 'agent-state')
        os.makedirs(state_home, exist_ok=True)
        watch = MatchWatch(self, calls_to=BUS_NAME)
        self.cleanups.append(watch.close)
        session_watch = MatchWatch(self, address=session.address, calls_to=NOTIFICATIONS, query_conn=session.conn)
        self.cleanups.append(session_watch.close)
        env = dict(os.environ)
        env.pop('DBUS_SESSION_BUS_ADDRESS', None)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = self.bus.address
        env['DBUS_SESSION_BUS_ADDRESS'] = session.address
        env['XDG_STATE_HOME'] = state_home
        env['NO_COLOR'] = '1'
        env.update(env_extra or {})
        name = name or f'hpctl notify #{sum(1 for p in self.procs if p.name.startswith("hpctl notify")) + 1}'
        proc = Proc([HPCTL, 'notify', *args], name, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(proc)
        proc.lines = LineReader(proc.popen.stdout, lambda ln: note(f'{name} | {ln}'))
        proc.errs = LineReader(proc.popen.stderr, lambda ln: note(f'{name} ! {ln}'))
        proc.watch = watch
        proc.session_watch = session_watch
        proc.state_home = state_home

        def ready():
            if not proc.alive():
                fail(f'{name} exited early', f'status {proc.returncode}: {" | ".join(proc.errs.lines)}')
            if not watch.client_ready(proc.pid, covers=self._covers_alert_raised):
                return False
            return not expect_calls or watch.client_idle(proc.pid)
        self.loop.until(ready, f'{name} to add its AlertRaised match'
                        + (' and have its answers from hpmond' if expect_calls else ''))
        note(f'{name} (pid {proc.pid}) is ready: '
             + ', '.join(r['member'].rsplit('.', 1)[-1] for r in watch.client_requests(proc.pid)))
        return proc



class LineReader:
    """Collects lines from a pipe through the GLib main loop."""

    def __init__(self, pipe, on_line=None):
        self.pipe = pipe
        self.on_line = on_line
        self.buf = b''
        self.lines = []
        self.eof = False
        os.set_blocking(pipe.fileno(), False)
        self.watch = GLib.io_add_watch(pipe.fileno(), GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP,
                                       self._readable)

    def _readable(self, fd, cond):
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        if not data:
            self.eof = True
            if self.buf:
                self._add(self.buf.decode(errors='replace'))
                self.buf = b''
            return False
        self.buf += data
        while b'\n' in self.buf:
            line, self.buf = self.buf.split(b'\n', 1)
            self._add(line.decode(errors='replace'))
        return True

    def _add(self, line):
        self.lines.append(line)
        if self.on_line:
            self.on_line(line)


class MatchWatch:
    """A bus monitor (BecomeMonitor) that sees which match rules a client added.

    A client of ours is ready for signals when the bus daemon has answered its
    AddMatch for PropertiesChanged: from then on the bus routes every such
    signal to it.  That is an event we can wait for instead of sleeping.
    """

    def __init__(self, env, address=None, calls_to=None, query_conn=None):
        """address: the bus to watch (the system bus by default), query_conn an
        ordinary connection to it (a monitor may not send).  calls_to: a bus name;
        every method call to it is recorded too, with its object path and its
        answer, in `requests` (see client_idle())."""
        self.env = env
        self.address = address or env.bus.address
        self.query_conn = query_conn or env.conn
        self.calls_to = calls_to
        self.calls = {}       # (sender, serial) → rule
        self.done = {}        # sender → [rules answered]
        self.requests = {}    # (sender, serial) → {'member', 'answered', 'error'}
        self._pids = {}
        self.conn = dbus.bus.BusConnection(self.address)
        self.conn.add_message_filter(self._filter)
        rules = ["type='method_call',interface='org.freedesktop.DBus',member='AddMatch'",
                 "type='method_return'", "type='error'"]
        if calls_to:
            rules.append(f"type='method_call',destination='{calls_to}'")
        self.conn.call_blocking(DBUS_NAME, DBUS_PATH, 'org.freedesktop.DBus.Monitoring', 'BecomeMonitor',
                                'asu', (dbus.Array(rules, signature='s'), dbus.UInt32(0)))

    def _filter(self, conn, msg):
        t = msg.get_type()
        if t == dbus.lowlevel.MESSAGE_TYPE_METHOD_CALL and msg.get_member() == 'AddMatch' \
                and msg.get_destination() == DBUS_NAME:
            args = msg.get_args_list()
            if args:
                self.calls[(msg.get_sender(), msg.get_serial())] = str(args[0])
        elif t == dbus.lowlevel.MESSAGE_TYPE_METHOD_CALL and self.calls_to \
                and msg.get_destination() == self.calls_to and not msg.get_no_reply():
            self.requests[(msg.get_sender(), msg.get_serial())] = {
                'member': f'{msg.get_interface()}.{msg.get_member()}', 'path': msg.get_path(),
                'answered': False, 'error': None}
        elif t in (dbus.lowlevel.MESSAGE_TYPE_METHOD_RETURN, dbus.lowlevel.MESSAGE_TYPE_ERROR):
            key = (msg.get_destination(), msg.get_reply_serial())
            if key in self.calls and t == dbus.lowlevel.MESSAGE_TYPE_METHOD_RETURN:
                self.done.setdefault(key[0], []).append(self.calls.pop(key))
            if key in self.requests:
                self.requests[key]['answered'] = True
                if t == dbus.lowlevel.MESSAGE_TYPE_ERROR:
                    self.requests[key]['error'] = msg.get_error_name()
        return dbus.lowlevel.HANDLER_RESULT_HANDLED

    def _pid_of(self, sender):
        if sender in self._pids:
            return self._pids[sender]
        try:
            pid = int(self.query_conn.call_blocking(DBUS_NAME, DBUS_PATH, DBUS_NAME, 'GetConnectionUnixProcessID',
                                                    's', (sender,)))
        except dbus.DBusException:
            return None
        self._pids[sender] = pid      # unique names are never reused
        return pid

    def senders_of(self, pid):
        """The unique names (on this bus) seen from process `pid`."""
        names = {k[0] for k in self.requests} | {k[0] for k in self.calls} | set(self.done)
        return [n for n in names if self._pid_of(n) == pid]

    def client_requests(self, pid):
        """The method calls process `pid` made to `calls_to`, in order."""
        senders = set(self.senders_of(pid))
        return [dict(r, sender=k[0]) for k, r in sorted(self.requests.items(), key=lambda kv: kv[0][1])
                if k[0] in senders]

    def client_idle(self, pid):
        """Process `pid` called `calls_to` at least once and has every answer."""
        reqs = self.client_requests(pid)
        return bool(reqs) and all(r['answered'] for r in reqs)

    def client_unanswered(self, pid):
        """The calls process `pid` made to `calls_to` that have no answer yet."""
        return [r for r in self.client_requests(pid) if not r['answered']]

    def client_ready(self, pid, covers=None):
        """Process `pid` has AddMatch answered for a rule `covers` accepts (by
        default: one that covers PropertiesChanged) and none unanswered."""
        for sender, rules in self.done.items():
            if any(k[0] == sender for k in self.calls):
                continue      # AddMatch calls still unanswered
            if covers is None:
                good = [r for r in rules
                        if 'PropertiesChanged' in r or ("member=" not in r and "type='signal'" in r)]
            else:
                good = [r for r in rules if covers(r)]
            if not good:
                continue
            if self._pid_of(sender) == pid:
                return True
        return False

    def close(self):
        self.conn.close()


# ------------------------------------------------------------------ running a test

def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


def run(test, name=None):
    """Run test(env) in a fresh Env; exit 0 pass, 1 fail, 77 skip."""
    name = name or os.path.splitext(os.path.basename(sys.argv[0]))[0]
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _on_signal)
    note(f'{name}: hpmond={HPMOND} hpctl={HPCTL}')
    try:
        with Env(name) as env:
            test(env)
    except TestSkip as e:
        print(f'SKIP: {name}: {e}', flush=True)
        sys.exit(EXIT_SKIP)
    except TestFailure as e:
        print(f'not ok {_checks[0] + 1} - {e}', flush=True)
        print(f'FAIL: {name}', flush=True)
        sys.exit(EXIT_FAIL)
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        print(f'FAIL: {name} (error in the test itself)', flush=True)
        sys.exit(EXIT_FAIL)
    print(f'PASS: {name} ({_checks[0]} checks)', flush=True)
    sys.exit(EXIT_PASS)


if __name__ == '__main__':
    if len(sys.argv) >= 4 and sys.argv[1] == 'bluez-mock' and sys.argv[2] == '--preload':
        _run_preloaded_mock(json.loads(sys.argv[3]))
    else:
        print('usage: hpmontest.py bluez-mock --preload JSON   (the harness runs this itself)',
              file=sys.stderr)
        sys.exit(2)
