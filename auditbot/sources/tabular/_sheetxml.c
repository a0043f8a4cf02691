/* The rows of an XLSX worksheet's <sheetData>, read from pieces of its XML as they are inflated.

   calamine (the workbook reader) loads a whole sheet before the first row, which for a 200.000-row export is
   seconds and hundreds of megabytes. This reads rows as the zip member streams by, and gives each cell the
   Python value calamine would give it (str, float, bool, datetime/date/time, '' for an empty or error cell).

   It reads only what it is sure of. Anything else — a construct it does not know, a value whose meaning
   depends on rules that differ between calamine's versions (whitespace trimming, '_xHHHH_' escapes, line
   endings), a style whose number format it cannot classify — raises `Irregular`, and the caller reads the
   sheet with calamine from that row on. Nothing here trusts the file: every read is bounded by the buffer. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <math.h>
#include <string.h>

static PyObject *Irregular;
static PyObject *EMPTY;  /* '' */

#define MAX_COLUMN 16384   /* XFD, Excel's last column */
#define MAX_ATTRS 12

enum { TAG_START, TAG_END, TAG_EMPTY, TAG_MORE, TAG_ODD };

typedef struct { const char *name; Py_ssize_t name_len; const char *value; Py_ssize_t value_len; } Attr;

typedef struct {
    const char *local;    /* the name without its namespace prefix */
    Py_ssize_t local_len;
    Attr attrs[MAX_ATTRS];
    int n_attrs;
} Tag;

typedef struct {
    const char *p, *end;
    const unsigned char *styles;  /* per style index: 0 number, 1 date or time, 2 not known */
    Py_ssize_t n_styles;
    PyObject *shared;             /* list of str, or None */
} Scan;

static int irregular(const char *what) {
    PyErr_SetString(Irregular, what);
    return -1;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void skip_space(Scan *s) {
    while (s->p < s->end && is_space(*s->p)) s->p++;
}

static int name_char(char c) {
    return c != '>' && c != '/' && c != '=' && !is_space(c) && c != '<';
}

static inline int local_is(const Tag *t, const char *name) {
    Py_ssize_t n = (Py_ssize_t)strlen(name);
    return t->local_len == n && memcmp(t->local, name, n) == 0;
}

static inline const Attr *attr(const Tag *t, const char *name) {
    Py_ssize_t n = (Py_ssize_t)strlen(name);
    for (int i = 0; i < t->n_attrs; i++)
        if (t->attrs[i].name_len == n && memcmp(t->attrs[i].name, name, n) == 0) return &t->attrs[i];
    return NULL;
}

/* One tag at s->p (which is '<'). TAG_MORE: the buffer ends inside it; TAG_ODD: a comment, CDATA, processing
   instruction or malformed tag (the caller reports it). */
static int read_tag(Scan *s, Tag *t) {
    const char *p = s->p, *end = s->end;
    int kind = TAG_START;
    if (p + 1 >= end) return TAG_MORE;
    p++;
    if (*p == '!' || *p == '?') return TAG_ODD;
    if (*p == '/') { kind = TAG_END; p++; }
    const char *name = p;
    while (p < end && name_char(*p)) p++;
    if (p >= end) return TAG_MORE;
    if (p == name) return TAG_ODD;
    const char *colon = memchr(name, ':', p - name);
    t->local = colon ? colon + 1 : name;
    t->local_len = p - t->local;
    t->n_attrs = 0;
    for (;;) {
        while (p < end && is_space(*p)) p++;
        if (p >= end) return TAG_MORE;
        if (*p == '>') { s->p = p + 1; return kind; }
        if (*p == '/') {
            if (p + 1 >= end) return TAG_MORE;
            if (p[1] != '>' || kind == TAG_END) return TAG_ODD;
            s->p = p + 2;
            return TAG_EMPTY;
        }
        if (kind == TAG_END) return TAG_ODD;
        const char *an = p;
        while (p < end && name_char(*p)) p++;
        if (p >= end) return TAG_MORE;
        Py_ssize_t an_len = p - an;
        while (p < end && is_space(*p)) p++;
        if (p >= end) return TAG_MORE;
        if (*p != '=' || an_len == 0) return TAG_ODD;
        p++;
        while (p < end && is_space(*p)) p++;
        if (p >= end) return TAG_MORE;
        char quote = *p;
        if (quote != '"' && quote != '\'') return TAG_ODD;
        const char *value = ++p;
        while (p < end && *p != quote) {
            if (*p == '<') return TAG_ODD;
            p++;
        }
        if (p >= end) return TAG_MORE;
        if (t->n_attrs == MAX_ATTRS) return TAG_ODD;
        t->attrs[t->n_attrs++] = (Attr){an, an_len, value, p - value};
        p++;
    }
}

/* Append the text from p to end, XML references decoded, to a growing UTF-8 buffer. */
typedef struct { char *data; Py_ssize_t len, cap; } Buf;

static int buf_put(Buf *b, const char *p, Py_ssize_t n) {
    if (b->len + n > b->cap) {
        Py_ssize_t cap = (b->cap ? b->cap : 256);
        while (cap < b->len + n) cap *= 2;
        char *data = PyMem_Realloc(b->data, cap);
        if (!data) { PyErr_NoMemory(); return -1; }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static int put_code_point(Buf *b, unsigned long c) {
    char out[4];
    Py_ssize_t n;
    if (c == 0 || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) return irregular("a character reference to no character");
    if (c == '\r') return irregular("a carriage return in a text");  /* readers differ on line endings */
    if (c < 0x80) { out[0] = (char)c; n = 1; }
    else if (c < 0x800) { out[0] = (char)(0xC0 | (c >> 6)); out[1] = (char)(0x80 | (c & 0x3F)); n = 2; }
    else if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12)); out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F)); n = 3;
    } else {
        out[0] = (char)(0xF0 | (c >> 18)); out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((c >> 6) & 0x3F)); out[3] = (char)(0x80 | (c & 0x3F)); n = 4;
    }
    return buf_put(b, out, n);
}

static int decode_text(Buf *b, const char *p, const char *end) {
    while (p < end) {
        const char *run = p;
        while (p < end && *p != '&' && *p != '\r' && *p != '_') p++;
        if (p > run && buf_put(b, run, p - run) < 0) return -1;
        if (p >= end) break;
        if (*p == '\r') return irregular("a carriage return in a text");
        if (*p == '_') {
            /* '_x000D_' is an escape to calamine, in some versions only: leave such texts to calamine */
            if (end - p >= 2 && p[1] == 'x') return irregular("an '_x' escape in a text");
            if (buf_put(b, p, 1) < 0) return -1;
            p++;
            continue;
        }
        const char *semi = memchr(p, ';', end - p);
        if (!semi || semi - p > 10) return irregular("an unterminated reference in a text");
        const char *ref = p + 1;
        Py_ssize_t n = semi - ref;
        if (n == 3 && memcmp(ref, "amp", 3) == 0) { if (buf_put(b, "&", 1) < 0) return -1; }
        else if (n == 2 && memcmp(ref, "lt", 2) == 0) { if (buf_put(b, "<", 1) < 0) return -1; }
        else if (n == 2 && memcmp(ref, "gt", 2) == 0) { if (buf_put(b, ">", 1) < 0) return -1; }
        else if (n == 4 && memcmp(ref, "quot", 4) == 0) { if (buf_put(b, "\"", 1) < 0) return -1; }
        else if (n == 4 && memcmp(ref, "apos", 4) == 0) { if (buf_put(b, "'", 1) < 0) return -1; }
        else if (n >= 2 && ref[0] == '#') {
            unsigned long c = 0;
            int hex = ref[1] == 'x';
            const char *d = ref + 1 + hex;
            if (d >= semi) return irregular("an empty character reference");
            for (; d < semi; d++) {
                int v;
                if (*d >= '0' && *d <= '9') v = *d - '0';
                else if (hex && *d >= 'a' && *d <= 'f') v = *d - 'a' + 10;
                else if (hex && *d >= 'A' && *d <= 'F') v = *d - 'A' + 10;
                else return irregular("a malformed character reference");
                c = c * (hex ? 16 : 10) + v;
                if (c > 0x10FFFF) return irregular("a character reference to no character");
            }
            if (put_code_point(b, c) < 0) return -1;
        } else return irregular("an entity reference other than XML's five");
        p = semi + 1;
    }
    return 0;
}

/* The text up to the next '<' (s->p is after the opening tag). 1: found; 0: the buffer ends first. */
static int text_until_tag(Scan *s, const char **start, const char **stop) {
    const char *lt = memchr(s->p, '<', s->end - s->p);
    if (!lt) return 0;
    *start = s->p;
    *stop = lt;
    s->p = lt;
    return 1;
}

enum { OK = 0, MORE = 1, FAIL = -1 };

/* Expect the end tag of `name` at s->p. */
static int end_tag(Scan *s, const char *name) {
    Tag t;
    int kind = read_tag(s, &t);
    if (kind == TAG_MORE) return MORE;
    if (kind != TAG_END || !local_is(&t, name)) return irregular("an element where its end was expected");
    return OK;
}

/* The raw text of a simple element whose start tag was just read: <v>text</v>. */
static int simple_text(Scan *s, const char *name, const char **start, const char **stop) {
    if (!text_until_tag(s, start, stop)) return MORE;
    return end_tag(s, name);
}

/* Skip an element whose start tag was just read, with whatever it holds (a formula, a run's properties). */
static int skip_element(Scan *s) {
    int depth = 1;
    while (depth) {
        const char *lt = memchr(s->p, '<', s->end - s->p);
        if (!lt) return MORE;
        s->p = lt;
        Tag t;
        int kind = read_tag(s, &t);
        if (kind == TAG_MORE) return MORE;
        if (kind == TAG_ODD) return irregular("a comment, CDATA section or malformed tag");
        if (kind == TAG_START) depth++;
        else if (kind == TAG_END) depth--;
    }
    return OK;
}

/* A <t> element's text (its start tag just read) appended to b. Texts with leading or trailing white space
   are left to calamine unless xml:space="preserve": versions differ on trimming them. */
static int t_text(Scan *s, const Tag *t, Buf *b) {
    const char *start, *stop;
    int r = simple_text(s, "t", &start, &stop);
    if (r != OK) return r;
    const Attr *space = attr(t, "xml:space");
    int preserve = space && space->value_len == 8 && memcmp(space->value, "preserve", 8) == 0;
    if (!preserve && stop > start && (is_space(*start) || is_space(stop[-1])))
        return irregular("a text with white space at its ends and no xml:space=\"preserve\"");
    return decode_text(b, start, stop);
}

/* The text of rich text (<is> or <si>) whose start tag was just read: its <t>, or its runs' <t> joined. */
static int rich_text(Scan *s, const char *closing, Buf *b) {
    int in_run = 0;
    for (;;) {
        skip_space(s);
        if (s->p >= s->end) return MORE;
        if (*s->p != '<') return irregular("text outside a <t> element");
        Tag t;
        int kind = read_tag(s, &t);
        if (kind == TAG_MORE) return MORE;
        if (kind == TAG_ODD) return irregular("a comment, CDATA section or malformed tag");
        int r = OK;
        if (kind == TAG_END) {
            if (in_run && local_is(&t, "r")) { in_run = 0; continue; }
            if (!in_run && local_is(&t, closing)) return OK;
            return irregular("an unexpected end tag in a text");
        }
        if (local_is(&t, "t")) {
            if (kind == TAG_START) r = t_text(s, &t, b);
        } else if (local_is(&t, "r") && !in_run) {
            if (kind == TAG_START) in_run = 1;
        } else if (local_is(&t, "rPr") && in_run) {
            if (kind == TAG_START) r = skip_element(s);
        } else {
            return irregular("an element of rich text this reader does not know (phonetic runs)");
        }
        if (r != OK) return r;
    }
}

enum { CHILD = 2, CLOSED = 3 };

/* The next element inside `parent`: CHILD (its tag and kind set), CLOSED at the parent's end tag, MORE, FAIL. */
static int next_child(Scan *s, const char *parent, Tag *t, int *kind) {
    skip_space(s);
    if (s->p >= s->end) return MORE;
    if (*s->p != '<') return irregular("text where an element was expected");
    *kind = read_tag(s, t);
    if (*kind == TAG_MORE) return MORE;
    if (*kind == TAG_ODD) return irregular("a comment, CDATA section or malformed tag");
    if (*kind == TAG_END) return local_is(t, parent) ? CLOSED : irregular("an unexpected end tag");
    return CHILD;
}

/* A cell reference's column (1-based) and row, e.g. "AB12" -> 28, 12. */
static int parse_ref(const Attr *a, long *column, long *row) {
    Py_ssize_t i = 0;
    long c = 0, r = 0;
    while (i < a->value_len && a->value[i] >= 'A' && a->value[i] <= 'Z' && i < 3) c = c * 26 + (a->value[i++] - 'A' + 1);
    if (c == 0 || c > MAX_COLUMN || i == a->value_len) return irregular("a cell reference this reader does not know");
    for (; i < a->value_len; i++) {
        if (a->value[i] < '0' || a->value[i] > '9' || r > 10000000) return irregular("a cell reference this reader does not know");
        r = r * 10 + (a->value[i] - '0');
    }
    *column = c;
    *row = r;
    return 0;
}

static int parse_long(const Attr *a, long limit, long *out) {
    long v = 0;
    if (a->value_len == 0 || a->value_len > 9) return irregular("a number attribute this reader does not know");
    for (Py_ssize_t i = 0; i < a->value_len; i++) {
        if (a->value[i] < '0' || a->value[i] > '9') return irregular("a number attribute this reader does not know");
        v = v * 10 + (a->value[i] - '0');
    }
    if (v > limit) return irregular("a number attribute out of range");
    *out = v;
    return 0;
}

/* Days since 1970-01-01 -> civil date (proleptic Gregorian). */
static void civil(long long z, int *y, int *m, int *d) {
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long yy = yoe + era * 400;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

/* A number in a date or time format, as python-calamine gives it: a time below 1, a date when whole, a
   datetime otherwise; the moment is the 1900 system's serial rounded to the millisecond. */
static PyObject *moment(double f) {
    if (!(f >= 0.0 && f < 1.0) && !(f >= 61.0 && f < 2958466.0))
        return (PyErr_SetString(Irregular, "a date serial in Excel's 1900 leap-year bug or out of range"), NULL);
    double shifted = f < 60.0 ? f + 1.0 : f;
    long long ms = (long long)round(shifted * 86400000.0);
    long long days = ms / 86400000, rest = ms % 86400000;
    int hour = (int)(rest / 3600000), minute = (int)(rest / 60000 % 60), second = (int)(rest / 1000 % 60);
    int micro = (int)(rest % 1000) * 1000;
    if (f < 1.0) return PyTime_FromTime(hour, minute, second, micro);
    int y, m, d;
    civil(days - 25569, &y, &m, &d);  /* 1899-12-30 is 25569 days before 1970-01-01 */
    if (f == (double)(unsigned long long)f) return PyDate_FromDate(y, m, d);
    return PyDateTime_FromDateAndTime(y, m, d, hour, minute, second, micro);
}

static int plain_number(const char *p, const char *end) {
    if (p < end && *p == '-') p++;
    const char *digits = p;
    while (p < end && *p >= '0' && *p <= '9') p++;
    if (p == digits) return 0;
    if (p < end && *p == '.') {
        const char *frac = ++p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == frac) return 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        const char *exp = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == exp) return 0;
    }
    return p == end;
}

/* Digits alone, up to 15 of them, are a whole number any double holds exactly: read here, without the
   general conversion. -1: not such a number. */
static int whole_number(const char *p, const char *end, double *out) {
    if (end - p < 1 || end - p > 15) return -1;
    long long n = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return -1;
        n = n * 10 + (*p - '0');
    }
    *out = (double)n;
    return 0;
}

/* The value of a cell from its type, style and the raw text of its <v> (NULL: none). New reference. */
static PyObject *cell_value(Scan *s, const Attr *type, long style, const char *v, const char *v_end, Buf *text,
                            Buf *keep, int *kept) {
    char t = 'n';
    if (type) {
        if (type->value_len == 1 && strchr("nsbe", type->value[0])) t = type->value[0];
        else if (type->value_len == 3 && memcmp(type->value, "str", 3) == 0) t = 'f';
        else if (type->value_len == 9 && memcmp(type->value, "inlineStr", 9) == 0) t = 'i';
        else return (PyErr_SetString(Irregular, "a cell type this reader does not know"), NULL);
    }
    if (t == 'i') {
        if (!text) return Py_NewRef(EMPTY);
        if (text == keep) { *kept = 1; return NULL; }
        return PyUnicode_DecodeUTF8(text->data, text->len, "strict");
    }
    if (text) return (PyErr_SetString(Irregular, "inline text in a cell not of type inlineStr"), NULL);
    if (!v || v == v_end) return Py_NewRef(EMPTY);
    if (t == 'e') return Py_NewRef(EMPTY);
    if (t == 'f') {
        if (is_space(*v) || is_space(v_end[-1]))
            return (PyErr_SetString(Irregular, "a formula's text with white space at its ends"), NULL);
        if (keep) {
            keep->len = 0;
            if (decode_text(keep, v, v_end) == 0) *kept = 1;
            return NULL;
        }
        Buf b = {0};
        PyObject *out = NULL;
        if (decode_text(&b, v, v_end) == 0) out = PyUnicode_DecodeUTF8(b.data ? b.data : "", b.len, "strict");
        PyMem_Free(b.data);
        return out;
    }
    if (t == 'b') {
        if (v_end - v == 1 && (*v == '0' || *v == '1')) return PyBool_FromLong(*v == '1');
        return (PyErr_SetString(Irregular, "a boolean cell that is not 0 or 1"), NULL);
    }
    long index = 0;
    if (t == 's') {
        Attr a = {"", 0, v, v_end - v};
        if (s->shared == Py_None) return (PyErr_SetString(Irregular, "a shared text in a workbook without any"), NULL);
        if (parse_long(&a, PY_SSIZE_T_MAX, &index) < 0) return NULL;
        if (index >= PyList_GET_SIZE(s->shared)) return (PyErr_SetString(Irregular, "a shared text that is not there"), NULL);
        return Py_NewRef(PyList_GET_ITEM(s->shared, index));
    }
    if (!plain_number(v, v_end)) return (PyErr_SetString(Irregular, "a number this reader does not know"), NULL);
    double f;
    if (whole_number(v, v_end, &f) < 0) {
        char digits[64];
        if (v_end - v >= (Py_ssize_t)sizeof digits) return (PyErr_SetString(Irregular, "a number this reader does not know"), NULL);
        memcpy(digits, v, v_end - v);
        digits[v_end - v] = 0;
        f = PyOS_string_to_double(digits, NULL, NULL);
        if (f == -1.0 && PyErr_Occurred()) return NULL;
    }
    if (!isfinite(f)) return (PyErr_SetString(Irregular, "a number out of range"), NULL);
    if (style < 0 || style >= s->n_styles || s->styles[style] == 2)
        return (PyErr_SetString(Irregular, "a number in a format this reader does not know"), NULL);
    if (s->styles[style] == 1) return moment(f);
    return PyFloat_FromDouble(f);
}

/* One <c> whose start tag `t` was just read (kind TAG_START or TAG_EMPTY). *value: new reference. With `keep`,
   a text cell's text is left there as UTF-8 instead (*value NULL, *kept set). */
static int read_cell(Scan *s, const Tag *t, int kind, PyObject **value, Buf *keep, int *kept) {
    const Attr *type = attr(t, "t"), *style_attr = attr(t, "s");
    long style = 0;
    if (style_attr && parse_long(style_attr, 1 << 20, &style) < 0) return FAIL;
    const char *v = NULL, *v_end = NULL;
    Buf local = {0}, *text = keep ? keep : &local;
    int has_text = 0, r = OK;
    *kept = 0;
    text->len = 0;
    if (kind == TAG_START) {
        for (;;) {
            Tag inner;
            int k;
            r = next_child(s, "c", &inner, &k);
            if (r == CLOSED) r = OK;
            if (r != CHILD) break;
            r = OK;
            if (local_is(&inner, "v")) {
                if (v) { r = irregular("a cell with two values"); break; }
                if (k == TAG_EMPTY) { v = v_end = ""; continue; }
                r = simple_text(s, "v", &v, &v_end);
            } else if (local_is(&inner, "f")) {
                if (k == TAG_START) r = skip_element(s);
            } else if (local_is(&inner, "is")) {
                if (has_text) { r = irregular("a cell with two texts"); break; }
                has_text = 1;
                if (k == TAG_START) r = rich_text(s, "is", text);
            } else {
                r = irregular("an element in a cell this reader does not know");
            }
            if (r != OK) break;
        }
    }
    if (r == OK) {
        *value = cell_value(s, type, style, v, v_end, has_text ? text : NULL, keep, kept);
        if (!*value && !*kept) r = FAIL;
    }
    PyMem_Free(local.data);
    return r;
}

/* What `fields` keeps of a row: the cells of a few columns, in the caller's order. */
#define MAX_FIELDS 64
enum { KIND_TEXT = 0, KIND_MOMENT = 1, KIND_AMOUNT = 2 };

typedef struct {
    Py_ssize_t n;
    long columns[MAX_FIELDS];        /* 0-based sheet column, or -1: the field has none */
    unsigned char kinds[MAX_FIELDS]; /* KIND_*: which non-text cells have a text twin */
    /* the row being read: a text cell's UTF-8 as read (has_text), any other cell's value (owned; NULL until
       its cell is seen) */
    Buf texts[MAX_FIELDS];
    char has_text[MAX_FIELDS];
    PyObject *values[MAX_FIELDS];
    long number, extent;             /* the row kept last: its number and its last cell's column */
    long width;                      /* the widest row kept so far, in columns */
} Projection;

static Py_ssize_t field_at(const Projection *proj, long column) {
    for (Py_ssize_t i = 0; i < proj->n; i++)
        if (proj->columns[i] == column) return i;
    return -1;
}

/* Append one cell's value (a new reference, stolen) at its 1-based column `at`, '' in the gap before it.
   *any: set when the value makes the row more than layout. */
static int append_cell(PyObject *cells, long at, PyObject *value, int *any) {
    if (!PyUnicode_Check(value) || PyUnicode_GET_LENGTH(value)) *any = 1;
    while (PyList_GET_SIZE(cells) < at - 1)
        if (PyList_Append(cells, EMPTY) < 0) { Py_DECREF(value); return FAIL; }
    int r = PyList_Append(cells, value) < 0 ? FAIL : OK;
    Py_DECREF(value);
    return r;
}

/* Keep one cell in the projection (field -1: a column nobody reads, only whether it is blank counts). */
static void project(Projection *proj, Py_ssize_t field, PyObject *value, int kept_text, int *any) {
    if (kept_text) {
        if (proj->texts[field].len) *any = 1;
        proj->has_text[field] = 1;
        return;
    }
    if (!*any && PyObject_IsTrue(value) == 1) *any = 1;  /* as Python's any(): 0, False and '' are blank */
    if (field < 0) { Py_DECREF(value); return; }
    Py_XSETREF(proj->values[field], value);
}

static void forget(Projection *proj) {
    if (!proj) return;
    for (Py_ssize_t i = 0; i < proj->n; i++) {
        Py_CLEAR(proj->values[i]);
        proj->has_text[i] = 0;
    }
}

/* The kept row's field i when it is not a text (borrowed): a field past the row's last cell (or without a
   column) is None, one inside it without a cell is '' - as the row path's shaping pads a row. */
static PyObject *field_value(const Projection *proj, Py_ssize_t i) {
    if (proj->values[i]) return proj->values[i];
    return proj->columns[i] >= 0 && proj->columns[i] < proj->extent ? EMPTY : Py_None;
}

/* The kept row as (number, cells), its texts decoded. Clears the projection's row. */
static PyObject *projected(Projection *proj) {
    PyObject *cells = PyList_New(proj->n);
    for (Py_ssize_t i = 0; cells && i < proj->n; i++) {
        PyObject *value = proj->has_text[i]
            ? PyUnicode_DecodeUTF8(proj->texts[i].data ? proj->texts[i].data : "", proj->texts[i].len, "strict")
            : Py_NewRef(field_value(proj, i));
        if (!value) Py_CLEAR(cells);
        else PyList_SET_ITEM(cells, i, value);
    }
    forget(proj);
    return cells ? Py_BuildValue("(lN)", proj->number, cells) : NULL;
}

/* One <row> at s->p: OK, MORE, or FAIL. *kept is set for a row with a value from `first` on: without a
   projection *row is then (number, cells), every cell at its column; with one, the projection holds the row's
   fields. */
static int read_row(Scan *s, long *last_row, long first, Projection *proj, PyObject **row, int *kept) {
    Tag t;
    *row = NULL;
    *kept = 0;
    int kind = read_tag(s, &t);
    if (kind == TAG_MORE) return MORE;
    if (kind == TAG_ODD || kind == TAG_END || !local_is(&t, "row")) return irregular("an element in sheetData that is not a row");
    long number = *last_row + 1;
    const Attr *r_attr = attr(&t, "r");
    if (r_attr && parse_long(r_attr, 1048576, &number) < 0) return FAIL;
    if (number <= *last_row) return irregular("rows out of order");
    if (kind == TAG_EMPTY) { *last_row = number; return OK; }
    PyObject *cells = proj ? NULL : PyList_New(0);
    if (!proj && !cells) return FAIL;
    long column = 0;
    int any = 0, r = OK;
    for (;;) {
        Tag c;
        int k;
        r = next_child(s, "row", &c, &k);
        if (r == CLOSED) r = OK;
        if (r != CHILD) break;
        r = OK;
        if (!local_is(&c, "c")) { r = irregular("an element in a row that is not a cell"); break; }
        long at = column + 1, at_row = number;
        const Attr *ref = attr(&c, "r");
        if (ref && parse_ref(ref, &at, &at_row) < 0) { r = FAIL; break; }
        if (at_row != number || at <= column || at > MAX_COLUMN) { r = irregular("a cell out of its row's order"); break; }
        Py_ssize_t field = proj ? field_at(proj, at - 1) : -1;
        PyObject *value = NULL;
        int kept_text;
        r = read_cell(s, &c, k, &value, field >= 0 ? &proj->texts[field] : NULL, &kept_text);
        if (r != OK) break;
        if (proj) project(proj, field, value, kept_text, &any);
        else if ((r = append_cell(cells, at, value, &any)) != OK) break;
        column = at;
    }
    if (r != OK || !any || number < first) {
        Py_XDECREF(cells);
        forget(proj);
        if (r == OK) *last_row = number;
        return r;
    }
    *last_row = number;
    *kept = 1;
    if (proj) {
        proj->number = number;
        proj->extent = column;
        if (column > proj->width) proj->width = column;
        return OK;
    }
    *row = Py_BuildValue("(lN)", number, cells);
    return *row ? OK : FAIL;
}

/* ASCII digits of n, at least `width` of them, written backwards from *end. */
static char *put_digits(char *end, long long n, int width) {
    do {
        *--end = (char)('0' + n % 10);
        n /= 10;
        width--;
    } while (n || width > 0);
    return end;
}

/* 'yyyy-mm-dd', and ' HH:MM:SS' after it when `clock`, as str() writes a date or a datetime of whole seconds;
   written backwards from *end. */
static char *iso_text(char *end, PyObject *value, int clock) {
    char *p = end;
    if (clock) {
        p = put_digits(p, PyDateTime_DATE_GET_SECOND(value), 2);
        *--p = ':';
        p = put_digits(p, PyDateTime_DATE_GET_MINUTE(value), 2);
        *--p = ':';
        p = put_digits(p, PyDateTime_DATE_GET_HOUR(value), 2);
        *--p = ' ';
    }
    p = put_digits(p, PyDateTime_GET_DAY(value), 2);
    *--p = '-';
    p = put_digits(p, PyDateTime_GET_MONTH(value), 2);
    *--p = '-';
    return put_digits(p, PyDateTime_GET_YEAR(value), 4);
}

static int utf8_valid(const unsigned char *p, Py_ssize_t n) {
    const unsigned char *end = p + n;
    while (p < end) {
        if (*p < 0x80) { p++; continue; }
        int len;
        unsigned long c;
        if (*p >= 0xC2 && *p <= 0xDF) { len = 2; c = *p & 0x1F; }
        else if (*p >= 0xE0 && *p <= 0xEF) { len = 3; c = *p & 0x0F; }
        else if (*p >= 0xF0 && *p <= 0xF4) { len = 4; c = *p & 0x07; }
        else return 0;
        if (end - p < len) return 0;
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80) return 0;
            c = (c << 6) | (p[i] & 0x3F);
        }
        if ((len == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)))
            return 0;
        p += len;
    }
    return 1;
}

/* A CSV field: the text in double quotes, each quote doubled. */
static int put_quoted(Buf *out, const char *p, Py_ssize_t n) {
    const char *end = p + n;
    if (buf_put(out, "\"", 1) < 0) return -1;
    while (p < end) {
        const char *quote = memchr(p, '"', end - p);
        const char *stop = quote ? quote + 1 : end;
        if (buf_put(out, p, stop - p) < 0 || (quote && buf_put(out, "\"", 1) < 0)) return -1;
        p = stop;
    }
    return buf_put(out, "\"", 1);
}

/* Write the field's text twin - the text the row parser reads exactly as it reads the cell - as a CSV field:
   a text itself; in a moment field a datetime of whole seconds or a date (as str() writes them); in an amount
   field a whole, non-negative float as its digits. 1: written; 0: the cell has no such twin; -1: error. */
static int put_twin(Buf *out, const Projection *proj, Py_ssize_t i) {
    char digits[32], *end = digits + sizeof digits;
    if (proj->has_text[i]) {
        const Buf *text = &proj->texts[i];
        if (!utf8_valid((const unsigned char *)text->data, text->len)) return irregular("a text that is not UTF-8");
        return put_quoted(out, text->data, text->len) < 0 ? -1 : 1;
    }
    PyObject *value = field_value(proj, i);
    unsigned char kind = proj->kinds[i];
    if (value == Py_None) return put_quoted(out, "", 0) < 0 ? -1 : 1;  /* None: the caller knows it by the extent */
    if (PyUnicode_CheckExact(value)) {
        Py_ssize_t n;
        const char *utf8 = PyUnicode_AsUTF8AndSize(value, &n);
        return !utf8 || put_quoted(out, utf8, n) < 0 ? -1 : 1;
    }
    const char *p = NULL;
    if (kind == KIND_MOMENT && PyDateTime_CheckExact(value) && PyDateTime_DATE_GET_MICROSECOND(value) == 0)
        p = iso_text(end, value, 1);
    else if (kind == KIND_MOMENT && PyDate_CheckExact(value))
        p = iso_text(end, value, 0);
    else if (kind == KIND_AMOUNT && PyFloat_CheckExact(value)) {
        double f = PyFloat_AS_DOUBLE(value);
        if (f >= 0.0 && !signbit(f) && f < 1e15 && f == floor(f)) p = put_digits(end, (long long)f, 1);
    }
    if (!p) return 0;
    return put_quoted(out, p, end - p) < 0 ? -1 : 1;
}

static int parse_styles(PyObject *styles, Scan *s) {
    if (!PyBytes_Check(styles)) { PyErr_SetString(PyExc_TypeError, "styles must be bytes"); return -1; }
    s->styles = (const unsigned char *)PyBytes_AS_STRING(styles);
    s->n_styles = PyBytes_GET_SIZE(styles);
    return 0;
}

/* Point s at data[start:]. */
static int begin(Scan *s, const Py_buffer *data, Py_ssize_t start) {
    if (start < 0 || start > data->len) {
        PyErr_SetString(PyExc_ValueError, "start out of range");
        return -1;
    }
    s->p = (const char *)data->buf + start;
    s->end = (const char *)data->buf + data->len;
    return 0;
}

/* Read complete rows from s->p, handing each kept one to keep() (a new reference to it, or NULL with a
   projection, which holds it); stop at the first incomplete row (s->p left at its start) or at </sheetData>
   (*finished set). */
static int walk_rows(Scan *s, long *last_row, long first, Projection *proj, int (*keep)(void *, PyObject *),
                     void *target, int *finished) {
    *finished = 0;
    for (;;) {
        skip_space(s);
        const char *row_start = s->p;
        if (s->p >= s->end) return OK;
        if (*s->p != '<') return irregular("text directly in sheetData");
        Tag t;
        int kind = read_tag(s, &t);
        if (kind == TAG_MORE) { s->p = row_start; return OK; }
        if (kind == TAG_END && local_is(&t, "sheetData")) { *finished = 1; return OK; }
        s->p = row_start;
        PyObject *row;
        long number = *last_row;
        int kept, r = read_row(s, &number, first, proj, &row, &kept);
        if (r == MORE) { s->p = row_start; return OK; }
        if (r == FAIL) return FAIL;
        *last_row = number;
        if (kept && keep(target, row) < 0) return FAIL;
    }
}

static int keep_row(void *target, PyObject *row) {
    int r = PyList_Append((PyObject *)target, row);
    Py_DECREF(row);
    return r;
}

PyDoc_STRVAR(rows_doc,
"rows(data, start, last_row, styles, shared) -> (rows, end, last_row, done)\n\n"
"The complete rows in data[start:], which lies inside <sheetData>: each (number, cells) with cells at their\n"
"0-based column, '' between; rows without a value are left out. end: where the first incomplete row starts;\n"
"done: </sheetData> was reached. styles: per style index 0 (number), 1 (date or time), 2 (unknown format);\n"
"shared: the shared texts (a list) or None. Raises Irregular for what it does not read.");

/* The arguments rows() and fields() share: the buffer, where to start, the last row read, the styles and the
   shared texts. */
static int scan_args(Scan *s, const Py_buffer *data, Py_ssize_t start, PyObject *styles, PyObject *shared) {
    if (begin(s, data, start) < 0 || parse_styles(styles, s) < 0) return -1;
    if (shared != Py_None && !PyList_Check(shared)) { PyErr_SetString(PyExc_TypeError, "shared must be a list"); return -1; }
    s->shared = shared;
    return 0;
}

static PyObject *rows(PyObject *self, PyObject *args) {
    Py_buffer data;
    Py_ssize_t start;
    long last_row;
    PyObject *styles, *shared, *out = NULL, *result = NULL;
    if (!PyArg_ParseTuple(args, "y*nlOO", &data, &start, &last_row, &styles, &shared)) return NULL;
    Scan s = {0};
    int finished;
    if (scan_args(&s, &data, start, styles, shared) == 0 && (out = PyList_New(0)) &&
        walk_rows(&s, &last_row, 0, NULL, keep_row, out, &finished) == OK)
        result = Py_BuildValue("(OnlO)", out, (Py_ssize_t)(s.p - (const char *)data.buf), last_row,
                               finished ? Py_True : Py_False);
    Py_XDECREF(out);
    PyBuffer_Release(&data);
    return result;
}

/* Where fields() puts a row: a CSV line of its number, its extent and its fields' texts when every field has a
   text twin, else (number, cells) in `odd`. */
typedef struct {
    Projection *proj;
    Buf lines;
    Py_ssize_t count;
    PyObject *odd;
} Fields;

static int keep_fields(void *target, PyObject *unused) {
    Fields *f = target;
    Projection *proj = f->proj;
    Py_ssize_t mark = f->lines.len;
    char head[48], *end = head + sizeof head, *p = end;
    *--p = ',';
    p = put_digits(p, proj->extent, 1);
    *--p = ',';
    p = put_digits(p, proj->number, 1);
    int r = buf_put(&f->lines, p, end - p) < 0 ? -1 : 1;
    for (Py_ssize_t i = 0; i < proj->n && r == 1; i++)
        if ((r = put_twin(&f->lines, proj, i)) == 1 && buf_put(&f->lines, i + 1 < proj->n ? "," : "\n", 1) < 0) r = -1;
    if (r == 1) {
        f->count++;
        forget(proj);
        return 0;
    }
    f->lines.len = mark;
    if (r < 0) { forget(proj); return -1; }
    PyObject *row = projected(proj);
    r = row ? PyList_Append(f->odd, row) : -1;
    Py_XDECREF(row);
    return r;
}

PyDoc_STRVAR(fields_doc,
"fields(data, start, last_row, styles, shared, first, columns, kinds) -> (lines, count, odd, end, last_row,\n"
"done, width)\n\n"
"The complete rows in data[start:] numbered from `first` on, as rows() reads them but keeping only the cells\n"
"of `columns` (0-based, -1 for none), in their order, padded as the row path shapes a row (None past the\n"
"row's last cell, '' inside it); a row whose cells are all blank (as Python's any()) is left out. A row whose\n"
"kept cells all have a text twin (kinds: per field 0 text, 1 moment, 2 amount) is a line of CSV in `lines`:\n"
"its number, its extent (the column of its last cell: a field at or past it is None) and its fields, quoted\n"
"(count: how many); any other is in `odd` as (number, cells). width: the widest kept row's columns.");

static PyObject *fields(PyObject *self, PyObject *args) {
    Py_buffer data, kinds;
    Py_ssize_t start;
    long last_row, first;
    PyObject *styles, *shared, *columns, *result = NULL;
    if (!PyArg_ParseTuple(args, "y*nlOOlO!y*", &data, &start, &last_row, &styles, &shared, &first, &PyTuple_Type,
                          &columns, &kinds)) return NULL;
    Scan s = {0};
    Projection proj = {0};
    Fields out = {&proj, {0}, 0, PyList_New(0)};
    proj.n = PyTuple_GET_SIZE(columns);
    if (proj.n > MAX_FIELDS || proj.n != kinds.len) {
        PyErr_SetString(PyExc_ValueError, "one kind per column, at most 64 columns");
        goto done;
    }
    for (Py_ssize_t i = 0; i < proj.n; i++) {
        proj.columns[i] = PyLong_AsLong(PyTuple_GET_ITEM(columns, i));
        proj.kinds[i] = ((const unsigned char *)kinds.buf)[i];
        if (proj.columns[i] == -1 && PyErr_Occurred()) goto done;
    }
    int finished;
    if (out.odd && scan_args(&s, &data, start, styles, shared) == 0 &&
        walk_rows(&s, &last_row, first, &proj, keep_fields, &out, &finished) == OK)
        result = Py_BuildValue("(y#nOnlOl)", out.lines.data ? out.lines.data : "", out.lines.len, out.count, out.odd,
                               (Py_ssize_t)(s.p - (const char *)data.buf), last_row, finished ? Py_True : Py_False,
                               proj.width);
done:
    forget(&proj);
    for (Py_ssize_t i = 0; i < MAX_FIELDS; i++) PyMem_Free(proj.texts[i].data);
    PyMem_Free(out.lines.data);
    Py_XDECREF(out.odd);
    PyBuffer_Release(&data);
    PyBuffer_Release(&kinds);
    return result;
}

PyDoc_STRVAR(texts_doc,
"texts(data, start) -> (texts, end, done)\n\n"
"The complete <si> items in data[start:] (inside <sst>), each as its text. end: where the first incomplete\n"
"item starts; done: </sst> was reached. Raises Irregular for what it does not read.");

static PyObject *texts(PyObject *self, PyObject *args) {
    Py_buffer data;
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "y*n", &data, &start)) return NULL;
    Scan s = {0};
    PyObject *out = NULL;
    if (begin(&s, &data, start) < 0) goto done;
    out = PyList_New(0);
    if (!out) goto done;
    int finished = 0;
    for (;;) {
        skip_space(&s);
        const char *item = s.p;
        if (s.p >= s.end) break;
        if (*s.p != '<') { irregular("text directly in sst"); goto fail; }
        Tag t;
        int kind = read_tag(&s, &t);
        if (kind == TAG_MORE) { s.p = item; break; }
        if (kind == TAG_ODD) { irregular("a comment, CDATA section or malformed tag"); goto fail; }
        if (kind == TAG_END && local_is(&t, "sst")) { finished = 1; break; }
        if (!local_is(&t, "si") || kind == TAG_END) { irregular("an element in sst that is not an item"); goto fail; }
        Buf b = {0};
        int r = kind == TAG_EMPTY ? OK : rich_text(&s, "si", &b);
        PyObject *text = NULL;
        if (r == OK) text = PyUnicode_DecodeUTF8(b.data ? b.data : "", b.len, "strict");
        PyMem_Free(b.data);
        if (r == MORE) { s.p = item; break; }
        if (r == FAIL || !text) goto fail;
        int appended = PyList_Append(out, text);
        Py_DECREF(text);
        if (appended < 0) goto fail;
    }
    PyObject *result = Py_BuildValue("(Nnl)", out, (Py_ssize_t)(s.p - (const char *)data.buf), (long)finished);
    PyBuffer_Release(&data);
    return result;
fail:
    Py_CLEAR(out);
done:
    PyBuffer_Release(&data);
    return out;
}

static PyMethodDef methods[] = {
    {"rows", rows, METH_VARARGS, rows_doc},
    {"fields", fields, METH_VARARGS, fields_doc},
    {"texts", texts, METH_VARARGS, texts_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_sheetxml", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__sheetxml(void) {
    PyDateTime_IMPORT;
    if (!PyDateTimeAPI) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    EMPTY = PyUnicode_FromString("");
    Irregular = PyErr_NewExceptionWithDoc("_sheetxml.Irregular", "What this reader does not read; calamine does.",
                                          PyExc_ValueError, NULL);
    if (!EMPTY || !Irregular || PyModule_AddObjectRef(m, "Irregular", Irregular) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
