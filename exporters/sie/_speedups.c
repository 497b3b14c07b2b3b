/* exporters.sie._speedups: the one step of the SIE reader's fast lane that pure Python does slowly.
 *
 * all_balanced(bodies) takes the rows' bytes of usual vouchers, as the usual-voucher regular expression
 * (exporters/sie/usual.py, USUAL) gives them: each a LF, then rows, each row ending in LF. It returns
 * True when every voucher checks out: each row has the shape below, no quoted field holds a backslash,
 * a brace or a line end, and each voucher's #TRANS amounts sum to 0 in whole öre. Otherwise it returns
 * None: "cannot tell here", and the caller asks the pure-Python check (usual.balanced), which stays the
 * check of record and says why. So this code only ever accepts; on anything odd it declines.
 *
 * A row, as read here: "#TRANS " or "#RTRANS " or "#BTRANS ", then bytes up to the first "}" outside
 * quotes, then " ", an optional "-", 1 to 16 digits, ".", 2 digits, then " ", CR or LF, then anything up
 * to the LF (quotes checked). Only #TRANS amounts count (the others are history, outside the balance).
 * tests/sie/test_speedups.py holds this to a reference in Python (a regular expression per row).
 *
 * Safety: reads only, every read inside [start, end) of an immutable bytes object, no Python code runs
 * while it reads (the GIL is held, the list is not touched by anyone else meanwhile), no allocation,
 * amounts under 10^18 and each sum step checked against int64 overflow.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_DIGITS 18 /* of an amount in öre, decimals included: 10^18 - 1 < 2^63 */

/* 1: the voucher's rows are of the shape and sum to 0; 0: anything else. */
static int
voucher_balances(const unsigned char *p, const unsigned char *end)
{
    int64_t sum = 0;
    if (p >= end || *p != '\n') {
        return 0;
    }
    p++;
    while (p < end) {
        /* A row starts at p. */
        int counted;
        if (end - p >= 7 && memcmp(p, "#TRANS ", 7) == 0) {
            counted = 1;
            p += 7;
        }
        else if (end - p >= 8 && p[0] == '#' && (p[1] == 'R' || p[1] == 'B') &&
                 memcmp(p + 2, "TRANS ", 6) == 0) {
            counted = 0;
            p += 8;
        }
        else {
            return 0;
        }
        /* Up to the first } outside quotes; a quoted field may not hold \ { } or LF. */
        int quoted = 0;
        for (;;) {
            if (p >= end) {
                return 0;
            }
            unsigned char c = *p++;
            if (c == '"') {
                quoted = !quoted;
            }
            else if (c == '\n') {
                return 0;
            }
            else if (quoted) {
                if (c == '\\' || c == '{' || c == '}') {
                    return 0;
                }
            }
            else if (c == '}') {
                break;
            }
        }
        /* " ", "-"?, digits, ".", two digits */
        if (p >= end || *p != ' ') {
            return 0;
        }
        p++;
        int negative = 0;
        if (p < end && *p == '-') {
            negative = 1;
            p++;
        }
        int64_t value = 0;
        int digits = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (++digits > MAX_DIGITS) {
                return 0;
            }
            value = value * 10 + (*p - '0');
            p++;
        }
        if (digits == 0 || p >= end || *p != '.') {
            return 0;
        }
        p++;
        if (end - p < 3 || p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') {
            return 0;
        }
        if (++digits > MAX_DIGITS) {
            return 0;
        }
        value = value * 10 + (p[0] - '0');
        if (++digits > MAX_DIGITS) {
            return 0;
        }
        value = value * 10 + (p[1] - '0');
        p += 2;
        if (*p != ' ' && *p != '\r' && *p != '\n') { /* p < end: checked above (end - p >= 3) */
            return 0;
        }
        if (counted) {
            if (negative) {
                value = -value;
            }
            if ((value > 0 && sum > INT64_MAX - value) || (value < 0 && sum < INT64_MIN - value)) {
                return 0;
            }
            sum += value;
        }
        /* The rest of the row, up to and with its LF; quoted fields checked as above. */
        for (;;) {
            if (p >= end) {
                return 0;
            }
            unsigned char c = *p++;
            if (c == '\n') {
                if (quoted) {
                    return 0;
                }
                break;
            }
            if (c == '"') {
                quoted = !quoted;
            }
            else if (quoted && (c == '\\' || c == '{' || c == '}')) {
                return 0;
            }
        }
    }
    return sum == 0;
}

static PyObject *
all_balanced(PyObject *module, PyObject *bodies)
{
    (void)module;
    if (!PyList_CheckExact(bodies)) {
        PyErr_SetString(PyExc_TypeError, "all_balanced() takes a list of bytes");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(bodies);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *body = PyList_GET_ITEM(bodies, i);
        if (!PyBytes_CheckExact(body)) {
            PyErr_SetString(PyExc_TypeError, "all_balanced() takes a list of bytes");
            return NULL;
        }
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *body = PyList_GET_ITEM(bodies, i);
        const unsigned char *start = (const unsigned char *)PyBytes_AS_STRING(body);
        if (!voucher_balances(start, start + PyBytes_GET_SIZE(body))) {
            Py_RETURN_NONE;
        }
    }
    Py_RETURN_TRUE;
}

static PyMethodDef methods[] = {
    {"all_balanced", all_balanced, METH_O,
     "all_balanced(bodies: list[bytes]) -> True | None\n\n"
     "True when every usual voucher's rows (a LF, then rows ending in LF) are of the usual shape, hold\n"
     "no quoted field with a backslash, brace or line end, and their #TRANS amounts sum to 0 in whole\n"
     "öre; None when it cannot tell (the pure-Python check then decides)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "exporters.sie._speedups",
    .m_doc = "The SIE reader's fast lane: the balance of usual vouchers in whole öre, in C (optional).",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
