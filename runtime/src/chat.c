/* chat.c - the model's chat template: conversations to text or tokens, with
 * thinking on or off. The template's pieces come from the tokenizer file
 * (hy_tokenizer_file.h); this file only knows their order. */
#include <stdlib.h>
#include <string.h>

#include "hy_internal.h"

void hy_chat_options_init(hy_chat_options_t *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->thinking = HY_THINKING_AUTO;
  o->add_generation_prompt = 1;
  o->strip_history_thinking = 1;
}

/* Receives the rendered conversation piece by piece: template pieces
 * (markers, the think block) or message text. */
typedef struct sink {
  hy_status_t (*put)(struct sink *s, const char *text, size_t len,
                     int is_template);
  const hy_tokenizer_t *tok;
  /* text output */
  char *text;
  size_t cap, len;
  /* token output */
  int32_t *tokens;
  size_t max_tokens, n_tokens;
} sink_t;

static hy_status_t put_text(sink_t *s, const char *text, size_t len,
                            int is_template) {
  (void)is_template;
  if (s->len + len < s->cap) memcpy(s->text + s->len, text, len);
  s->len += len;
  return HY_OK;
}

static hy_status_t put_tokens(sink_t *s, const char *text, size_t len,
                              int is_template) {
  /* Template pieces may name special tokens; message text never does. */
  return hy_tokenizer_encode(s->tok, text, len, is_template, s->tokens,
                             s->max_tokens, &s->n_tokens);
}

static hy_status_t put_piece(sink_t *s, int piece) {
  const hy_tokenizer_t *t = s->tok;
  if (t->chat_len[piece] == 0) return HY_OK;
  if (t->chat_token[piece] >= 0 && s->put == put_tokens) {
    if (s->n_tokens < s->max_tokens) s->tokens[s->n_tokens] = t->chat_token[piece];
    s->n_tokens++;
    return HY_OK;
  }
  return s->put(s, t->chat[piece], t->chat_len[piece], 1);
}

static int starts_with(const char *s, size_t n, const char *p, size_t pn) {
  return pn && n >= pn && memcmp(s, p, pn) == 0;
}
static int ends_with(const char *s, size_t n, const char *p, size_t pn) {
  return pn && n >= pn && memcmp(s + n - pn, p, pn) == 0;
}
static int is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Thinking for the generation prompt: explicit, or from a /think or
 * /no_think marker at either end of the last user message. */
static int thinking_off(const hy_tokenizer_t *t, const hy_chat_message_t *m,
                        size_t n, hy_thinking_t mode) {
  if (mode != HY_THINKING_AUTO) return mode == HY_THINKING_OFF;
  for (size_t i = n; i-- > 0;) {
    if (m[i].role != HY_ROLE_USER) continue;
    const char *s = m[i].content;
    size_t len = strlen(s);
    while (len && is_blank(*s)) ++s, --len;
    while (len && is_blank(s[len - 1])) --len;
    const char *no = t->chat[HY_CHAT_MARK_NO_THINK];
    size_t non = t->chat_len[HY_CHAT_MARK_NO_THINK];
    const char *yes = t->chat[HY_CHAT_MARK_THINK];
    size_t yesn = t->chat_len[HY_CHAT_MARK_THINK];
    if (starts_with(s, len, no, non) || ends_with(s, len, no, non)) return 1;
    if (starts_with(s, len, yes, yesn) || ends_with(s, len, yes, yesn)) return 0;
    return 0;
  }
  return 0;
}

static hy_status_t render(sink_t *s, const hy_chat_message_t *m, size_t n,
                          const hy_chat_options_t *o) {
  const hy_tokenizer_t *t = s->tok;
  hy_status_t st;
  if ((st = put_piece(s, HY_CHAT_BOS)) != HY_OK) return st;

  /* System messages, joined by a blank line, come first. */
  size_t sys_len = 0, n_sys = 0;
  for (size_t i = 0; i < n; ++i)
    if (m[i].role == HY_ROLE_SYSTEM) {
      sys_len += strlen(m[i].content) + (n_sys ? 2 : 0);
      ++n_sys;
    }
  if (sys_len > 0) {
    char *sys = malloc(sys_len + 1);
    if (!sys) return hy_set_error(HY_ERR_OUT_OF_MEMORY, "out of memory");
    size_t at = 0, k = 0;
    for (size_t i = 0; i < n; ++i) {
      if (m[i].role != HY_ROLE_SYSTEM) continue;
      if (k++) {
        memcpy(sys + at, "\n\n", 2);
        at += 2;
      }
      size_t l = strlen(m[i].content);
      memcpy(sys + at, m[i].content, l);
      at += l;
    }
    if ((st = put_piece(s, HY_CHAT_SYSTEM_PREFIX)) == HY_OK &&
        (st = s->put(s, sys, sys_len, 0)) == HY_OK)
      st = put_piece(s, HY_CHAT_SYSTEM_SUFFIX);
    free(sys);
    if (st != HY_OK) return st;
  }

  for (size_t i = 0; i < n; ++i) {
    const char *c = m[i].content;
    size_t len = strlen(c);
    if (m[i].role == HY_ROLE_USER) {
      if ((st = put_piece(s, HY_CHAT_USER_PREFIX)) != HY_OK ||
          (st = s->put(s, c, len, 0)) != HY_OK ||
          (st = put_piece(s, HY_CHAT_USER_SUFFIX)) != HY_OK)
        return st;
    } else if (m[i].role == HY_ROLE_ASSISTANT) {
      if (o->strip_history_thinking && t->chat_len[HY_CHAT_THINK_CLOSE]) {
        /* Keep what follows the last "</think>", minus leading newlines. */
        const char *close = t->chat[HY_CHAT_THINK_CLOSE];
        size_t cl = t->chat_len[HY_CHAT_THINK_CLOSE];
        for (size_t k = len >= cl ? len - cl + 1 : 0; k-- > 0;)
          if (memcmp(c + k, close, cl) == 0) {
            c += k + cl;
            len -= k + cl;
            break;
          }
        while (len && (*c == '\n' || *c == '\r')) ++c, --len;
      }
      if ((st = put_piece(s, HY_CHAT_ASSISTANT_PREFIX)) != HY_OK ||
          (st = s->put(s, c, len, 0)) != HY_OK ||
          (st = put_piece(s, HY_CHAT_ASSISTANT_SUFFIX)) != HY_OK)
        return st;
    }
  }
  if (o->add_generation_prompt) {
    if ((st = put_piece(s, HY_CHAT_ASSISTANT_PREFIX)) != HY_OK) return st;
    if (thinking_off(t, m, n, o->thinking) &&
        (st = put_piece(s, HY_CHAT_THINK_EMPTY)) != HY_OK)
      return st;
  }
  return HY_OK;
}

static hy_status_t check_chat(const hy_model_t *model, const char *fn,
                              const hy_chat_message_t *m, size_t n,
                              const hy_chat_options_t *o) {
  if (!model)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT, "%s: model is NULL", fn);
  if (!m && n)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "%s: messages is NULL with n_messages %zu", fn, n);
  for (size_t i = 0; i < n; ++i) {
    if (!m[i].content)
      return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                          "%s: message %zu has no content", fn, i);
    if ((unsigned)m[i].role > HY_ROLE_ASSISTANT)
      return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                          "%s: message %zu has an unknown role %d", fn, i,
                          (int)m[i].role);
  }
  if ((unsigned)o->thinking > HY_THINKING_OFF)
    return hy_set_error(HY_ERR_INVALID_ARGUMENT, "%s: unknown thinking mode %d",
                        fn, (int)o->thinking);
  if (!model->tok || !model->tok->has_chat)
    return hy_set_error(HY_ERR_UNSUPPORTED,
                        "%s: the model has no chat template (%s)", fn,
                        model->tok ? "its GGUF had none"
                                   : "opened without a tokenizer file");
  return HY_OK;
}

hy_status_t hy_chat_format(const hy_model_t *model,
                           const hy_chat_message_t *messages,
                           size_t n_messages, const hy_chat_options_t *options,
                           char *text, size_t text_cap, size_t *text_len) {
  hy_chat_options_t defaults;
  hy_chat_options_init(&defaults);
  const hy_chat_options_t *o = options ? options : &defaults;
  if (!text_len || (!text && text_cap))
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_chat_format: text_len is NULL or text is NULL with "
                        "a nonzero capacity");
  hy_status_t st = check_chat(model, "hy_chat_format", messages, n_messages, o);
  if (st != HY_OK) return st;
  sink_t s = {put_text, model->tok, text, text_cap, 0, NULL, 0, 0};
  if ((st = render(&s, messages, n_messages, o)) != HY_OK) return st;
  *text_len = s.len;
  if (s.len + 1 > text_cap)
    return hy_set_error(HY_ERR_BUFFER_TOO_SMALL,
                        "hy_chat_format: %zu bytes (+ NUL) do not fit in %zu",
                        s.len, text_cap);
  text[s.len] = '\0';
  return HY_OK;
}

hy_status_t hy_chat_tokenize(const hy_model_t *model,
                             const hy_chat_message_t *messages,
                             size_t n_messages,
                             const hy_chat_options_t *options, int32_t *tokens,
                             size_t max_tokens, size_t *n_tokens) {
  hy_chat_options_t defaults;
  hy_chat_options_init(&defaults);
  const hy_chat_options_t *o = options ? options : &defaults;
  if (!n_tokens || (!tokens && max_tokens))
    return hy_set_error(HY_ERR_INVALID_ARGUMENT,
                        "hy_chat_tokenize: n_tokens is NULL or tokens is NULL "
                        "with a nonzero capacity");
  hy_status_t st =
      check_chat(model, "hy_chat_tokenize", messages, n_messages, o);
  if (st != HY_OK) return st;
  sink_t s = {put_tokens, model->tok, NULL, 0, 0, tokens, max_tokens, 0};
  if ((st = render(&s, messages, n_messages, o)) != HY_OK) return st;
  *n_tokens = s.n_tokens;
  if (s.n_tokens > max_tokens)
    return hy_set_error(HY_ERR_BUFFER_TOO_SMALL,
                        "hy_chat_tokenize: %zu tokens do not fit in %zu",
                        s.n_tokens, max_tokens);
  return HY_OK;
}
