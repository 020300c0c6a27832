/*
 * Just enough JSON for the tabby-cni shim: reads the top-level members of one object
 * (the CNI network configuration) and hands each to a callback, skipping nested values
 * without building anything. Strings are decoded (escapes, \uXXXX with surrogate pairs,
 * to UTF-8); numbers are given as text. Bounded: nesting deeper than JSON_MAX_DEPTH is
 * refused rather than recursed into.
 */
#ifndef TABBY_CNI_JSON_SCAN_H
#define TABBY_CNI_JSON_SCAN_H

#include <stddef.h>

#define JSON_MAX_DEPTH 256

enum json_kind { JSON_STRING, JSON_NUMBER, JSON_OTHER };

/* One top-level member. `text` is the decoded string (JSON_STRING, NUL-terminated) or the
 * number's literal text (JSON_NUMBER); NULL for any other kind. Valid during the call. */
typedef void (*json_member_fn)(const char *key, enum json_kind kind, const char *text, void *ctx);

/* Returns 0 when `buf` is exactly one JSON object (surrounding whitespace allowed), after
 * calling `fn` for each member in order; -1 when it is not valid JSON or not an object. */
int json_scan_object(const char *buf, size_t len, json_member_fn fn, void *ctx);

/* 1 when `buf` is exactly one JSON value of any kind (surrounding whitespace allowed). */
int json_is_value(const char *buf, size_t len);

/* Appends `s` (UTF-8) to `out` as a JSON string literal with quotes, escaping like
 * JavaScript's JSON.stringify does for well-formed text. Returns -1 when out of memory. */
struct strbuf {
  char *data;
  size_t len;
  size_t cap;
};
int sb_append(struct strbuf *sb, const char *s, size_t n);
int sb_puts(struct strbuf *sb, const char *s);
int sb_json_string(struct strbuf *sb, const char *s, size_t n);

#endif
