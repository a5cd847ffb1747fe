/* The teller page's files over HTTP: GET /, /teller.css and /teller.js are web/ byte for byte,
 * compiled into the binary, each with its content type, an entity tag answered with 304 when a
 * request names it in If-None-Match, and the headers that keep a browser from running anything
 * but those files (Content-Security-Policy, X-Content-Type-Options, Referrer-Policy). The
 * browser side is tests/browser/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define HEADER_SIZE 512

struct web_file {
    const char *path;   /* the URL path */
    const char *source; /* the file in web/ */
    const char *content_type;
};

static const struct web_file web_files[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/teller.css", "teller.css", "text/css; charset=utf-8"},
    {"/teller.js", "teller.js", "text/javascript; charset=utf-8"},
};
#define WEB_FILE_COUNT (sizeof web_files / sizeof web_files[0])

/* The file of the source tree, NUL-terminated; free() it. */
static char *read_source(const char *name, size_t *size) {
    char path[512];
    snprintf(path, sizeof path, "%s/web/%s", MX_SOURCE_DIR, name);
    FILE *file = fopen(path, "rb");
    ck_assert_msg(file != NULL, "cannot open %s", path);
    char *text = NULL;
    size_t used = 0;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, file)) > 0) {
        char *grown = realloc(text, used + got + 1);
        ck_assert_ptr_nonnull(grown);
        text = grown;
        memcpy(text + used, chunk, got);
        used += got;
    }
    fclose(file);
    if (text == NULL)
        text = calloc(1, 1);
    ck_assert_ptr_nonnull(text);
    text[used] = '\0';
    *size = used;
    return text;
}

/* Whether html has an attribute like ` onclick=`: inline script that a CSP would block. */
static int has_event_handler_attribute(const char *html) {
    for (const char *p = strstr(html, " on"); p != NULL; p = strstr(p + 1, " on")) {
        const char *q = p + 3;
        while (*q >= 'a' && *q <= 'z')
            q++;
        if (q > p + 3 && *q == '=')
            return 1;
    }
    return 0;
}

/* Asserts that header name is present and returns its value (in out). */
static const char *require_header(const struct ft_response *r, const char *name, char *out) {
    ck_assert_msg(ft_header(r, name, out, HEADER_SIZE) != NULL, "%s: no %s header", r->what, name);
    return out;
}

static void assert_header_eq(const struct ft_response *r, const char *name, const char *want) {
    char value[HEADER_SIZE];
    require_header(r, name, value);
    ck_assert_msg(strcmp(value, want) == 0, "%s: %s is '%s', want '%s'", r->what, name, value,
                  want);
}

static void assert_no_header(const struct ft_response *r, const char *name) {
    char value[HEADER_SIZE];
    ck_assert_msg(ft_header(r, name, value, sizeof value) == NULL, "%s: unexpected %s: %s", r->what,
                  name, value);
}

/* A strong entity tag computed from the bytes: '"' + 32 lowercase hex digits + '"'. */
static void assert_etag_shape(const struct ft_response *r, const char *etag) {
    int ok = strlen(etag) == 34 && etag[0] == '"' && etag[33] == '"';
    for (int i = 1; ok && i < 33; i++)
        ok = (etag[i] >= '0' && etag[i] <= '9') || (etag[i] >= 'a' && etag[i] <= 'f');
    ck_assert_msg(ok, "%s: ETag %s is not a quoted 128-bit hex digest", r->what, etag);
}

/* The headers every answer of a page file carries, 200 and 304 alike. */
static void assert_page_headers(const struct ft_response *r) {
    char csp[HEADER_SIZE];
    require_header(r, "Content-Security-Policy", csp);
    ck_assert_msg(strstr(csp, "default-src 'self'") != NULL, "CSP: %s", csp);
    ck_assert_msg(strstr(csp, "script-src 'self'") != NULL, "CSP: %s", csp);
    ck_assert_msg(strstr(csp, "style-src 'self'") != NULL, "CSP: %s", csp);
    ck_assert_msg(strstr(csp, "frame-ancestors 'none'") != NULL, "CSP: %s", csp);
    ck_assert_msg(strstr(csp, "unsafe-inline") == NULL && strstr(csp, "unsafe-eval") == NULL,
                  "CSP allows inline script or eval: %s", csp);
    assert_header_eq(r, "X-Content-Type-Options", "nosniff");
    assert_header_eq(r, "Referrer-Policy", "no-referrer");
    assert_header_eq(r, "Cache-Control", "no-cache");
}

/* GET path; asserts 200 and returns the response with its ETag in etag. */
static struct ft_response *get_file(const struct web_file *file, char etag[HEADER_SIZE]) {
    struct ft_response *r = ft_http("GET", file->path, NULL);
    ft_assert_status(r, 200);
    require_header(r, "ETag", etag);
    assert_etag_shape(r, etag);
    return r;
}

START_TEST(page_files_are_web_byte_for_byte_with_their_content_type_and_security_headers) {
    for (size_t i = 0; i < WEB_FILE_COUNT; i++) {
        char etag[HEADER_SIZE];
        struct ft_response *r = get_file(&web_files[i], etag);
        assert_header_eq(r, "Content-Type", web_files[i].content_type);
        assert_page_headers(r);
        size_t size = 0;
        char *source = read_source(web_files[i].source, &size);
        ck_assert_msg(r->body_size == size && memcmp(r->body, source, size) == 0,
                      "%s is not web/%s (%zu bytes, want %zu)", r->what, web_files[i].source,
                      r->body_size, size);
        free(source);
        ft_response_free(r);
    }
}
END_TEST

START_TEST(each_file_has_its_own_etag_and_keeps_it) {
    char etags[WEB_FILE_COUNT][HEADER_SIZE];
    for (size_t i = 0; i < WEB_FILE_COUNT; i++) {
        ft_response_free(get_file(&web_files[i], etags[i]));
        char again[HEADER_SIZE];
        ft_response_free(get_file(&web_files[i], again));
        ck_assert_str_eq(again, etags[i]);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(etags[i], etags[j]);
    }
}
END_TEST

START_TEST(if_none_match_naming_the_etag_is_304_without_a_body) {
    for (size_t i = 0; i < WEB_FILE_COUNT; i++) {
        char etag[HEADER_SIZE];
        ft_response_free(get_file(&web_files[i], etag));
        /* The tag alone, weakly compared, in a list (after a tag holding a comma), and "*". */
        char forms[4][HEADER_SIZE + 64];
        snprintf(forms[0], sizeof forms[0], "If-None-Match: %s", etag);
        snprintf(forms[1], sizeof forms[1], "If-None-Match: W/%s", etag);
        snprintf(forms[2], sizeof forms[2], "If-None-Match: \"a,b\" , W/\"x\",%s", etag);
        snprintf(forms[3], sizeof forms[3], "If-None-Match: *");
        for (int f = 0; f < 4; f++) {
            const char *headers[] = {forms[f], NULL};
            struct ft_response *r = ft_http_with_headers("GET", web_files[i].path, NULL, headers);
            ck_assert_msg(r->status == 304, "%s with '%s': %ld", r->what, forms[f], r->status);
            ck_assert_msg(r->body_size == 0, "%s: 304 with a body", r->what);
            assert_header_eq(r, "ETag", etag);
            assert_page_headers(r);
            ft_response_free(r);
        }
    }
}
END_TEST

START_TEST(if_none_match_naming_another_tag_is_200_with_the_body) {
    char css_etag[HEADER_SIZE];
    ft_response_free(get_file(&web_files[1], css_etag));
    char other[HEADER_SIZE + 32];
    snprintf(other, sizeof other, "If-None-Match: %s", css_etag);
    const char *const cases[] = {
        other, /* the tag of another file */
        "If-None-Match: \"0123456789abcdef0123456789abcdef\"",
        "If-None-Match: not-a-tag", /* malformed: a full answer is always safe */
        "If-None-Match: \"unterminated",
        "If-None-Match: *, \"x\"",
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *headers[] = {cases[c], NULL};
        struct ft_response *r = ft_http_with_headers("GET", "/teller.js", NULL, headers);
        ck_assert_msg(r->status == 200, "%s with '%s': %ld", r->what, cases[c], r->status);
        ck_assert_msg(r->body_size > 0, "%s: empty body", r->what);
        assert_header_eq(r, "Content-Type", "text/javascript; charset=utf-8");
        ft_response_free(r);
    }
}
END_TEST

START_TEST(head_of_a_page_file_has_the_headers_of_get_and_no_body) {
    for (size_t i = 0; i < WEB_FILE_COUNT; i++) {
        char etag[HEADER_SIZE];
        ft_response_free(get_file(&web_files[i], etag));
        struct ft_response *r = ft_http("HEAD", web_files[i].path, NULL);
        ft_assert_status(r, 200);
        ck_assert_uint_eq(r->body_size, 0);
        assert_header_eq(r, "ETag", etag);
        assert_header_eq(r, "Content-Type", web_files[i].content_type);
        assert_page_headers(r);
        ft_response_free(r);
    }
}
END_TEST

START_TEST(page_runs_no_inline_script_or_style_and_never_writes_html) {
    size_t size = 0;
    char *html = read_source("index.html", &size);
    /* Every <script> loads a file; no <style>, no style="", no on...="" handlers. */
    for (const char *p = strstr(html, "<script"); p != NULL; p = strstr(p + 1, "<script")) {
        char tag[256];
        snprintf(tag, sizeof tag, "%.*s", (int)strcspn(p, ">"), p);
        ck_assert_msg(strstr(tag, " src=\"/") != NULL, "inline script in index.html: %s", tag);
    }
    ck_assert_msg(strstr(html, "<style") == NULL, "<style> in index.html");
    ck_assert_msg(strstr(html, " style=") == NULL, "style attribute in index.html");
    ck_assert_msg(!has_event_handler_attribute(html), "an on...= attribute in index.html");
    ck_assert_msg(strstr(html, "javascript:") == NULL, "a javascript: URL in index.html");
    ck_assert_msg(strstr(html, "href=\"/teller.css\"") != NULL, "index.html misses its CSS");
    ck_assert_msg(strstr(html, "src=\"/teller.js\"") != NULL, "index.html misses its JS");
    ck_assert_msg(strstr(html, "http://") == NULL && strstr(html, "https://") == NULL,
                  "index.html loads from another origin");
    free(html);

    char *js = read_source("teller.js", &size);
    const char *const forbidden[] = {"innerHTML",      "outerHTML", "insertAdjacentHTML",
                                     "document.write", "eval(",     "new Function",
                                     "parseFloat",     "toFixed"};
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
        ck_assert_msg(strstr(js, forbidden[i]) == NULL, "teller.js uses %s", forbidden[i]);
    free(js);
}
END_TEST

START_TEST(api_answers_are_never_stored_and_carry_nosniff_and_no_referrer) {
    const char *const paths[] = {"/healthz", "/api/nothing", "/api/accounts/1/balance"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct ft_response *r = ft_http("GET", paths[i], NULL);
        ft_assert_json(r);
        assert_header_eq(r, "Cache-Control", "no-store");
        assert_header_eq(r, "X-Content-Type-Options", "nosniff");
        assert_header_eq(r, "Referrer-Policy", "no-referrer");
        assert_no_header(r, "ETag");
        ft_response_free(r);
    }
}
END_TEST

START_TEST(other_methods_on_page_files_are_405_and_other_files_404) {
    for (size_t i = 0; i < WEB_FILE_COUNT; i++) {
        struct ft_response *r = ft_http("POST", web_files[i].path, NULL);
        ft_assert_error(r, 405, "method_not_allowed", NULL);
        assert_header_eq(r, "Allow", "GET, HEAD");
        ft_response_free(r);
    }
    /* Only the routed files are served: not by their file name, not by any other path. */
    const char *const missing[] = {"/index.html", "/teller.txt", "/teller.js/", "/web/teller.js",
                                   "/../CMakeLists.txt"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        ft_expect_error("GET", missing[i], NULL, NULL, 404, "not_found", NULL);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("web");
    FT_ADD_TEST(s, page_files_are_web_byte_for_byte_with_their_content_type_and_security_headers);
    FT_ADD_TEST(s, each_file_has_its_own_etag_and_keeps_it);
    FT_ADD_TEST(s, if_none_match_naming_the_etag_is_304_without_a_body);
    FT_ADD_TEST(s, if_none_match_naming_another_tag_is_200_with_the_body);
    FT_ADD_TEST(s, head_of_a_page_file_has_the_headers_of_get_and_no_body);
    FT_ADD_TEST(s, page_runs_no_inline_script_or_style_and_never_writes_html);
    FT_ADD_TEST(s, api_answers_are_never_stored_and_carry_nosniff_and_no_referrer);
    FT_ADD_TEST(s, other_methods_on_page_files_are_405_and_other_files_404);
    return ft_main(s, 1, FT_DATABASE_URL, NULL);
}
