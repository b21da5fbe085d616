/* Three hot spots in C, each with a pure-Python twin.
 *
 * 1. The LocalProxy attribute read: the one hot path of the context locals.
 *
 * A Python-level __getattribute__ costs a frame per `request.path`, about twice what
 * `var.get().path` costs. This base type's tp_getattro does the same lookup without one:
 * current object (a ContextVar's value, or a zero-argument callable's result), then an
 * optional step into it (an item or an attribute), then the attribute asked for. Anything
 * unusual (an unbound local, a missing attribute) goes to the Python slow path in
 * treadle.local, with the exception, so both paths behave the same.
 *
 * The fields are set once, before the proxy is handed out, and never change: reading them
 * needs no lock, so the module declares that it runs without the GIL (free-threaded 3.13t).
 *
 * 2. watch_beacon(): the threaded server's standby thread waiting for the loop's inline
 * request to stall (treadle.server.threaded). Its Python twin must take the GIL at every
 * look, which costs the loop thread a GIL hand-over each time; this one looks at a shared
 * counter without the GIL and takes it only to report a stall.
 *
 * 3. send_now() / recv_now(): the server's reads and writes of plain sockets, which are
 * nonblocking, without letting go of the GIL (see below; twins: os.write / os.read).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <sys/socket.h>
#include <stdint.h>
#include <time.h>

typedef struct {
    PyObject_HEAD
    PyObject *source;  /* a ContextVar, or a callable returning the current object */
    PyObject *step;    /* NULL, or the item key / attribute name applied to it */
    PyObject *recover; /* recover(proxy, name, exception) -> value, or raises */
    int source_is_var;
    int step_is_item;
} ProxyReader;

static int
reader_traverse(ProxyReader *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->source);
    Py_VISIT(self->step);
    Py_VISIT(self->recover);
    return 0;
}

static int
reader_clear(ProxyReader *self)
{
    Py_CLEAR(self->source);
    Py_CLEAR(self->step);
    Py_CLEAR(self->recover);
    return 0;
}

static void
reader_dealloc(ProxyReader *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    reader_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

/* Take the exception being raised, as one object (3.12 has a call for it; 3.11 does not). */
static PyObject *
take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != NULL && value != NULL) {
        PyException_SetTraceback(value, traceback);
    }
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
#endif
}

static PyObject *
slow_path(ProxyReader *self, PyObject *name)
{
    PyObject *exception = take_exception();
    if (exception == NULL) {
        return NULL;
    }
    PyObject *result = PyObject_CallFunctionObjArgs(
        self->recover, (PyObject *)self, name, exception, NULL);
    Py_DECREF(exception);
    return result;
}

static int
is_recoverable(void)
{
    return PyErr_ExceptionMatches(PyExc_LookupError)
        || PyErr_ExceptionMatches(PyExc_AttributeError);
}

static PyObject *
reader_getattro(PyObject *op, PyObject *name)
{
    ProxyReader *self = (ProxyReader *)op;
    PyObject *current;
    if (self->source == NULL) {  /* not set up (a bare instance): plain lookup */
        return PyObject_GenericGetAttr(op, name);
    }
    if (self->source_is_var) {
        if (PyContextVar_Get(self->source, NULL, &current) < 0) {
            return NULL;
        }
        if (current == NULL) {
            PyErr_SetObject(PyExc_LookupError, self->source);
            return slow_path(self, name);
        }
    }
    else {
        current = PyObject_CallNoArgs(self->source);
        if (current == NULL) {
            return is_recoverable() ? slow_path(self, name) : NULL;
        }
    }
    if (self->step != NULL) {
        PyObject *inner = self->step_is_item ? PyObject_GetItem(current, self->step)
                                             : PyObject_GetAttr(current, self->step);
        Py_DECREF(current);
        if (inner == NULL) {
            return is_recoverable() ? slow_path(self, name) : NULL;
        }
        current = inner;
    }
    PyObject *result = PyObject_GetAttr(current, name);
    Py_DECREF(current);
    if (result == NULL && is_recoverable()) {
        return slow_path(self, name);
    }
    return result;
}

static PyObject *
reader_set_up(PyObject *op, PyObject *args)
{
    ProxyReader *self = (ProxyReader *)op;
    PyObject *source, *step, *recover;
    int source_is_var, step_is_item;
    if (!PyArg_ParseTuple(args, "OpOpO:_set_up", &source, &source_is_var, &step,
                          &step_is_item, &recover)) {
        return NULL;
    }
    if (self->source != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a proxy reader is set up only once");
        return NULL;
    }
    if (source_is_var && !PyContextVar_CheckExact(source)) {
        PyErr_SetString(PyExc_TypeError, "source_is_var needs a ContextVar");
        return NULL;
    }
    self->source_is_var = source_is_var;
    self->step_is_item = step_is_item;
    self->step = step == Py_None ? NULL : Py_NewRef(step);
    self->recover = Py_NewRef(recover);
    self->source = Py_NewRef(source);  /* last: a set source means the reader is ready */
    Py_RETURN_NONE;
}

static PyMethodDef reader_methods[] = {
    {"_set_up", reader_set_up, METH_VARARGS,
     "_set_up(source, source_is_var, step, step_is_item, recover): once, before use."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot reader_slots[] = {
    {Py_tp_doc, "Base of LocalProxy whose attribute reads run in C (treadle._speedups)."},
    {Py_tp_getattro, reader_getattro},
    {Py_tp_traverse, reader_traverse},
    {Py_tp_clear, reader_clear},
    {Py_tp_dealloc, reader_dealloc},
    {Py_tp_methods, reader_methods},
    {0, NULL},
};

static PyType_Spec reader_spec = {
    .name = "treadle._speedups.ProxyReader",
    .basicsize = sizeof(ProxyReader),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = reader_slots,
};

/* watch_beacon(beacon, interval) -> int
 *
 * beacon: a buffer of at least two aligned int64 (array('q')): [0] is odd while a
 * request runs inline and changes with every request; [1] non-zero asks the watch to end.
 * Sleeps `interval` seconds at a time without the GIL; returns [0] once it holds the same
 * odd value at two looks in a row (a request has run for at least `interval`), or -1 once
 * [1] is set. The writer is Python code storing whole aligned int64s, so a relaxed atomic
 * load always sees one value or the other.
 */
static PyObject *
watch_beacon(PyObject *module, PyObject *args)
{
    PyObject *beacon;
    double interval;
    if (!PyArg_ParseTuple(args, "Od:watch_beacon", &beacon, &interval)) {
        return NULL;
    }
    if (!(interval > 0.0 && interval < 3600.0)) {
        PyErr_SetString(PyExc_ValueError, "interval must be between 0 and 3600 seconds");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(beacon, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (view.len < (Py_ssize_t)(2 * sizeof(int64_t)) || ((uintptr_t)view.buf % sizeof(int64_t))) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "beacon must hold two aligned int64 values");
        return NULL;
    }
    int64_t *slots = (int64_t *)view.buf;
    struct timespec pause;
    pause.tv_sec = (time_t)interval;
    pause.tv_nsec = (long)((interval - (double)pause.tv_sec) * 1e9);
    int64_t seen = -1, now;

    Py_BEGIN_ALLOW_THREADS
    for (;;) {
        struct timespec left = pause;
        while (nanosleep(&left, &left) != 0 && errno == EINTR) {
        }
        if (__atomic_load_n(&slots[1], __ATOMIC_RELAXED)) {
            now = -1;
            break;
        }
        now = __atomic_load_n(&slots[0], __ATOMIC_RELAXED);
        if ((now & 1) && now == seen) {
            break;
        }
        seen = now;
    }
    Py_END_ALLOW_THREADS

    PyBuffer_Release(&view);
    return PyLong_FromLongLong((long long)now);
}

/* send_now(fd, data) -> int and recv_now(fd, size) -> bytes
 *
 * send() and recv() on a nonblocking socket, keeping the GIL. socket.send and
 * socket.recv release it around the call, which under contention costs more than the
 * call: with many threads serving, each release hands the GIL to a waiting thread and the
 * caller then queues to get it back, twice per request. A nonblocking call returns in
 * microseconds, so holding on is cheaper. Nothing is ready: BlockingIOError; other
 * failures: OSError from errno, as the socket methods raise.
 */
static PyObject *
send_now(PyObject *module, PyObject *args)
{
    int fd;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "iy*:send_now", &fd, &data)) {
        return NULL;
    }
    ssize_t sent;
    do {
        sent = send(fd, data.buf, (size_t)data.len, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR && PyErr_CheckSignals() == 0);
    PyBuffer_Release(&data);
    if (sent < 0) {
        return PyErr_Occurred() ? NULL : PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromSsize_t(sent);
}

static PyObject *
recv_now(PyObject *module, PyObject *args)
{
    int fd;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "in:recv_now", &fd, &size)) {
        return NULL;
    }
    if (size <= 0) {
        PyErr_SetString(PyExc_ValueError, "size must be positive");
        return NULL;
    }
    PyObject *buffer = PyBytes_FromStringAndSize(NULL, size);
    if (buffer == NULL) {
        return NULL;
    }
    ssize_t got;
    do {
        got = recv(fd, PyBytes_AS_STRING(buffer), (size_t)size, MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR && PyErr_CheckSignals() == 0);
    if (got < 0) {
        Py_DECREF(buffer);
        return PyErr_Occurred() ? NULL : PyErr_SetFromErrno(PyExc_OSError);
    }
    if (got != size && _PyBytes_Resize(&buffer, got) < 0) {
        return NULL;
    }
    return buffer;
}

static PyMethodDef speedups_functions[] = {
    {"send_now", send_now, METH_VARARGS,
     "send_now(fd, data): send() on a nonblocking socket without releasing the GIL."},
    {"recv_now", recv_now, METH_VARARGS,
     "recv_now(fd, size): recv() on a nonblocking socket without releasing the GIL."},
    {"watch_beacon", watch_beacon, METH_VARARGS,
     "watch_beacon(beacon, interval): wait without the GIL until the inline request in "
     "beacon[0] stalls (returns it) or beacon[1] asks to stop (returns -1)."},
    {NULL, NULL, 0, NULL},
};

static int
speedups_exec(PyObject *module)
{
    PyObject *type = PyType_FromModuleAndSpec(module, &reader_spec, NULL);
    if (type == NULL) {
        return -1;
    }
    int failed = PyModule_AddObjectRef(module, "ProxyReader", type);
    Py_DECREF(type);
    return failed;
}

static PyModuleDef_Slot speedups_slots[] = {
    {Py_mod_exec, speedups_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "treadle._speedups",
    .m_doc = "C parts of treadle, each with a pure-Python twin (TREADLE_NO_SPEEDUPS=1 forces it).",
    .m_size = 0,
    .m_methods = speedups_functions,
    .m_slots = speedups_slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
