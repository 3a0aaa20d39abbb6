/* The live-path benchmark's upstream: an OpenAI-compatible server that does no work.

     noop_upstream FRAMES PACE_US

   Listens on a free loopback port and prints "listening on http://127.0.0.1:PORT". Every
   POST .../chat/completions is answered with the same chat completion (about 2 KB), or, when
   its body asks for a stream ("stream":true), with FRAMES server-sent events: chat chunks
   carrying "fNNN " markers, a finish chunk, a usage chunk and [DONE], chunked as llama-server
   sends them, PACE_US microseconds apart (0: all at once). GET /health, /props and /v1/models
   answer as llama-server does. One thread per connection, HTTP/1.1 keep-alive, bodies with a
   Content-Length (what localaik, the SDKs and wrk send) or chunked (what Go's net/http sends
   for a body it forwards as it reads, as the original Go localaik does). It must never be the
   bottleneck: bench/live_path.py measures it straight, as the baseline, in the same run.
   Standard C and POSIX threads only, built by bench/live_path.py with the system's cc. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int frames = 8;
static long pace_us = 0;
static char completion[4096];
static size_t completion_len;

static const char *CHUNK =
    "data: {\"id\":\"chatcmpl-noop\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"noop\",\"choices\":[{\"index\":0,\"delta\":{%s\"content\":\"f%03d \"},"
    "\"finish_reason\":null}]}\n\n";
static const char *FINISH =
    "data: {\"id\":\"chatcmpl-noop\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"noop\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
static const char *USAGE =
    "data: {\"id\":\"chatcmpl-noop\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"noop\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":%d,"
    "\"total_tokens\":%d}}\n\n";
static const char *DONE = "data: [DONE]\n\n";

static int send_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_chunk(int fd, const char *data, size_t len) {
    char head[32];
    int n = snprintf(head, sizeof head, "%zx\r\n", len);
    char buf[1024];
    if (len + (size_t)n + 2 <= sizeof buf) { /* one write a frame, as a server flushes it */
        memcpy(buf, head, (size_t)n);
        memcpy(buf + n, data, len);
        memcpy(buf + n + len, "\r\n", 2);
        return send_all(fd, buf, (size_t)n + len + 2);
    }
    if (send_all(fd, head, (size_t)n) < 0 || send_all(fd, data, len) < 0) return -1;
    return send_all(fd, "\r\n", 2);
}

static int answer_json(int fd, int status, const char *body, size_t len) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nKeep-Alive: timeout=65\r\n\r\n",
                     status, status == 200 ? "OK" : "Not Found", len);
    char buf[8192];
    if ((size_t)n + len <= sizeof buf) {
        memcpy(buf, head, (size_t)n);
        memcpy(buf + n, body, len);
        return send_all(fd, buf, (size_t)n + len);
    }
    if (send_all(fd, head, (size_t)n) < 0) return -1;
    return send_all(fd, body, len);
}

static int answer_stream(int fd) {
    static const char *head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "Transfer-Encoding: chunked\r\nKeep-Alive: timeout=65\r\n\r\n";
    if (send_all(fd, head, strlen(head)) < 0) return -1;
    char frame[512];
    int content = frames > 3 ? frames - 3 : 1;
    for (int i = 0; i < frames; i++) {
        int n;
        if (i < content)
            n = snprintf(frame, sizeof frame, CHUNK, i == 0 ? "\"role\":\"assistant\"," : "", i);
        else if (i == content)
            n = snprintf(frame, sizeof frame, "%s", FINISH);
        else if (i == content + 1)
            n = snprintf(frame, sizeof frame, USAGE, content, content + 9);
        else
            n = snprintf(frame, sizeof frame, "%s", DONE);
        if (pace_us > 0 && i > 0) usleep((useconds_t)pace_us);
        if (send_chunk(fd, frame, (size_t)n) < 0) return -1;
    }
    return send_all(fd, "0\r\n\r\n", 5);
}

static int route(int fd, const char *method, const char *path, const char *body) {
    if (strcmp(method, "POST") == 0 && strstr(path, "/chat/completions")) {
        if (strstr(body, "\"stream\":true") || strstr(body, "\"stream\": true"))
            return answer_stream(fd);
        return answer_json(fd, 200, completion, completion_len);
    }
    if (strcmp(path, "/health") == 0) return answer_json(fd, 200, "{\"status\":\"ok\"}", 15);
    if (strcmp(path, "/props") == 0) {
        const char *props = "{\"modalities\":{\"vision\":false}}";
        return answer_json(fd, 200, props, strlen(props));
    }
    if (strstr(path, "/models")) {
        const char *models = "{\"object\":\"list\",\"data\":[{\"id\":\"noop\",\"object\":\"model\","
                             "\"created\":1700000000,\"owned_by\":\"noop\"}]}";
        return answer_json(fd, 200, models, strlen(models));
    }
    const char *missing = "{\"error\":{\"code\":404,\"message\":\"not found\"}}";
    return answer_json(fd, 404, missing, strlen(missing));
}

/* A chunked body at p (n bytes read so far): its length on the wire once complete (the last
   chunk and the CRLF after it; trailers are not sent by our clients), 0 while incomplete. */
static size_t chunked_wire(const char *p, size_t n) {
    size_t at = 0;
    for (;;) {
        const char *eol = memmem(p + at, n - at, "\r\n", 2);
        if (eol == NULL) return 0;
        size_t size = strtoul(p + at, NULL, 16);
        size_t data = (size_t)(eol - p) + 2;
        if (size == 0) return n >= data + 2 ? data + 2 : 0;
        if (n < data + size + 2) return 0;
        at = data + size + 2;
    }
}

/* Decodes a complete chunked body of `wire` bytes in place; returns the body's length. */
static size_t dechunk(char *p, size_t wire) {
    size_t at = 0, out = 0;
    while (at < wire) {
        char *eol = memmem(p + at, wire - at, "\r\n", 2);
        size_t size = strtoul(p + at, NULL, 16);
        size_t data = (size_t)(eol - p) + 2;
        if (size == 0) break;
        memmove(p + out, p + data, size);
        out += size;
        at = data + size + 2;
    }
    return out;
}

static void *serve(void *arg) {
    int fd = (int)(long)arg;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    size_t cap = 1 << 16, have = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        char *end;
        buf[have] = 0;
        while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
            if (have == cap) goto out; /* a header over 64 KiB: not ours */
            ssize_t n = recv(fd, buf + have, cap - have, 0);
            if (n <= 0) goto out;
            have += (size_t)n;
            buf[have] = 0;
        }
        size_t head_len = (size_t)(end - buf) + 4;
        size_t body_len = 0;
        int chunked = 0;
        for (char *line = strstr(buf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
            if (strncasecmp(line + 2, "content-length:", 15) == 0)
                body_len = strtoul(line + 17, NULL, 10);
            if (strncasecmp(line + 2, "transfer-encoding:", 18) == 0)
                chunked = strncasecmp(line + 20 + strspn(line + 20, " \t"), "chunked", 7) == 0;
        }
        if (chunked) {
            while ((body_len = chunked_wire(buf + head_len, have - head_len)) == 0) {
                if (have == cap) {
                    cap *= 2;
                    buf = realloc(buf, cap + 1);
                }
                ssize_t n = recv(fd, buf + have, cap - have, 0);
                if (n <= 0) goto out;
                have += (size_t)n;
            }
        }
        if (head_len + body_len > cap) {
            cap = head_len + body_len;
            buf = realloc(buf, cap + 1);
        }
        while (have < head_len + body_len) {
            ssize_t n = recv(fd, buf + have, cap - have, 0);
            if (n <= 0) goto out;
            have += (size_t)n;
        }
        char method[8] = {0}, path[1024] = {0};
        sscanf(buf, "%7s %1023s", method, path);
        /* The body as sent: a chunked one is decoded in place (it only shrinks). */
        size_t content = chunked ? dechunk(buf + head_len, body_len) : body_len;
        char saved = buf[head_len + content];
        buf[head_len + content] = 0;
        int failed = route(fd, method, path, buf + head_len);
        buf[head_len + content] = saved;
        if (failed < 0) goto out;
        memmove(buf, buf + head_len + body_len, have - head_len - body_len);
        have -= head_len + body_len;
    }
out:
    free(buf);
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) frames = atoi(argv[1]);
    if (argc > 2) pace_us = atol(argv[2]);
    char text[1700];
    for (size_t i = 0; i + 1 < sizeof text; i++) text[i] = "localaik noop "[i % 14];
    text[sizeof text - 1] = 0;
    completion_len = (size_t)snprintf(
        completion, sizeof completion,
        "{\"id\":\"chatcmpl-noop\",\"object\":\"chat.completion\",\"created\":1700000000,"
        "\"model\":\"noop\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        "\"content\":\"%s\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,"
        "\"completion_tokens\":400,\"total_tokens\":409}}",
        text);
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(sock, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(sock, 512) < 0 ||
        getsockname(sock, (struct sockaddr *)&addr, &len) < 0) {
        perror("noop_upstream");
        return 1;
    }
    printf("listening on http://127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    for (;;) {
        int fd = accept(sock, NULL, NULL);
        if (fd < 0) continue;
        pthread_t thread;
        if (pthread_create(&thread, NULL, serve, (void *)(long)fd) != 0) {
            close(fd);
            continue;
        }
        pthread_detach(thread);
    }
}
