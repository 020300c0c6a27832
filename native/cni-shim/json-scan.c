#include "json-scan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
  const char *p;
  const char *end;
};

static void skip_ws(struct cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int hex4(const char *p, uint32_t *out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char ch = p[i];
    v <<= 4;
    if (ch >= '0' && ch <= '9') v |= (uint32_t)(ch - '0');
    else if (ch >= 'a' && ch <= 'f') v |= (uint32_t)(ch - 'a' + 10);
    else if (ch >= 'A' && ch <= 'F') v |= (uint32_t)(ch - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static int put_utf8(struct strbuf *out, uint32_t cp) {
  char b[4];
  size_t n;
  if (cp < 0x80) { b[0] = (char)cp; n = 1; }
  else if (cp < 0x800) { b[0] = (char)(0xc0 | (cp >> 6)); b[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
  else if (cp < 0x10000) { b[0] = (char)(0xe0 | (cp >> 12)); b[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); b[2] = (char)(0x80 | (cp & 0x3f)); n = 3; }
  else { b[0] = (char)(0xf0 | (cp >> 18)); b[1] = (char)(0x80 | ((cp >> 12) & 0x3f)); b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); b[3] = (char)(0x80 | (cp & 0x3f)); n = 4; }
  return sb_append(out, b, n);
}

/* Reads a string at c->p (which is '"'); decodes into `out` when not NULL. */
static int read_string(struct cursor *c, struct strbuf *out) {
  c->p++;
  while (c->p < c->end) {
    unsigned char ch = (unsigned char)*c->p;
    if (ch == '"') {
      c->p++;
      return out ? sb_append(out, "", 0) : 0;
    }
    if (ch < 0x20) return -1;
    if (ch != '\\') {
      if (out && sb_append(out, c->p, 1) < 0) return -1;
      c->p++;
      continue;
    }
    if (c->end - c->p < 2) return -1;
    char e = c->p[1];
    c->p += 2;
    const char *simple = NULL;
    switch (e) {
      case '"': simple = "\""; break;
      case '\\': simple = "\\"; break;
      case '/': simple = "/"; break;
      case 'b': simple = "\b"; break;
      case 'f': simple = "\f"; break;
      case 'n': simple = "\n"; break;
      case 'r': simple = "\r"; break;
      case 't': simple = "\t"; break;
      case 'u': break;
      default: return -1;
    }
    if (simple) {
      if (out && sb_append(out, simple, 1) < 0) return -1;
      continue;
    }
    uint32_t cp;
    if (c->end - c->p < 4 || hex4(c->p, &cp) < 0) return -1;
    c->p += 4;
    if (cp >= 0xd800 && cp < 0xdc00 && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
      uint32_t lo;
      if (hex4(c->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        c->p += 6;
      }
    }
    if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd; /* a lone surrogate has no UTF-8 form */
    if (out && put_utf8(out, cp) < 0) return -1;
  }
  return -1;
}

static int is_number_char(char ch) {
  return (ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.' || ch == 'e' || ch == 'E';
}

static int skip_value(struct cursor *c, int depth);

static int skip_container(struct cursor *c, int depth, char close) {
  if (depth >= JSON_MAX_DEPTH) return -1;
  c->p++;
  skip_ws(c);
  if (c->p < c->end && *c->p == close) {
    c->p++;
    return 0;
  }
  for (;;) {
    skip_ws(c);
    if (close == '}') {
      if (c->p >= c->end || *c->p != '"' || read_string(c, NULL) < 0) return -1;
      skip_ws(c);
      if (c->p >= c->end || *c->p != ':') return -1;
      c->p++;
    }
    if (skip_value(c, depth + 1) < 0) return -1;
    skip_ws(c);
    if (c->p >= c->end) return -1;
    if (*c->p == ',') {
      c->p++;
      continue;
    }
    if (*c->p == close) {
      c->p++;
      return 0;
    }
    return -1;
  }
}

static int skip_literal(struct cursor *c, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return -1;
  c->p += n;
  return 0;
}

static int skip_value(struct cursor *c, int depth) {
  skip_ws(c);
  if (c->p >= c->end) return -1;
  switch (*c->p) {
    case '{': return skip_container(c, depth, '}');
    case '[': return skip_container(c, depth, ']');
    case '"': return read_string(c, NULL);
    case 't': return skip_literal(c, "true");
    case 'f': return skip_literal(c, "false");
    case 'n': return skip_literal(c, "null");
    default: {
      const char *start = c->p;
      while (c->p < c->end && is_number_char(*c->p)) c->p++;
      return c->p > start ? 0 : -1;
    }
  }
}

int json_scan_object(const char *buf, size_t len, json_member_fn fn, void *ctx) {
  struct cursor c = {buf, buf + len};
  struct strbuf key = {0}, val = {0};
  int rc = -1;
  skip_ws(&c);
  if (c.p >= c.end || *c.p != '{') goto out;
  c.p++;
  skip_ws(&c);
  if (c.p < c.end && *c.p == '}') {
    c.p++;
  } else {
    for (;;) {
      skip_ws(&c);
      key.len = 0;
      if (c.p >= c.end || *c.p != '"' || read_string(&c, &key) < 0) goto out;
      skip_ws(&c);
      if (c.p >= c.end || *c.p != ':') goto out;
      c.p++;
      skip_ws(&c);
      if (c.p >= c.end) goto out;
      if (*c.p == '"') {
        val.len = 0;
        if (read_string(&c, &val) < 0) goto out;
        fn(key.data, JSON_STRING, val.data, ctx);
      } else if (*c.p == '-' || (*c.p >= '0' && *c.p <= '9')) {
        const char *start = c.p;
        if (skip_value(&c, 1) < 0) goto out;
        val.len = 0;
        if (sb_append(&val, start, (size_t)(c.p - start)) < 0 || sb_append(&val, "", 0) < 0) goto out;
        fn(key.data, JSON_NUMBER, val.data, ctx);
      } else {
        if (skip_value(&c, 1) < 0) goto out;
        fn(key.data, JSON_OTHER, NULL, ctx);
      }
      skip_ws(&c);
      if (c.p < c.end && *c.p == ',') {
        c.p++;
        continue;
      }
      if (c.p < c.end && *c.p == '}') {
        c.p++;
        break;
      }
      goto out;
    }
  }
  skip_ws(&c);
  rc = c.p == c.end ? 0 : -1;
out:
  free(key.data);
  free(val.data);
  return rc;
}

int json_is_value(const char *buf, size_t len) {
  struct cursor c = {buf, buf + len};
  if (skip_value(&c, 0) < 0) return 0;
  skip_ws(&c);
  return c.p == c.end;
}

/* Appends n bytes and keeps a NUL after them (not counted in len). */
int sb_append(struct strbuf *sb, const char *s, size_t n) {
  if (sb->len + n + 1 > sb->cap) {
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + n + 1) cap *= 2;
    char *d = realloc(sb->data, cap);
    if (!d) return -1;
    sb->data = d;
    sb->cap = cap;
  }
  memcpy(sb->data + sb->len, s, n);
  sb->len += n;
  sb->data[sb->len] = '\0';
  return 0;
}

int sb_puts(struct strbuf *sb, const char *s) {
  return sb_append(sb, s, strlen(s));
}

int sb_json_string(struct strbuf *sb, const char *s, size_t n) {
  if (sb_append(sb, "\"", 1) < 0) return -1;
  size_t run = 0; /* bytes copied as they are, flushed in one append */
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    const char *esc = NULL;
    char u[7];
    switch (ch) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      default:
        if (ch < 0x20) {
          snprintf(u, sizeof u, "\\u%04x", ch);
          esc = u;
        }
    }
    if (!esc) {
      run++;
      continue;
    }
    if (sb_append(sb, s + i - run, run) < 0 || sb_puts(sb, esc) < 0) return -1;
    run = 0;
  }
  if (sb_append(sb, s + n - run, run) < 0) return -1;
  return sb_append(sb, "\"", 1);
}
