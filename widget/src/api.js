// The conversation API as the widget uses it. No cookies are sent (credentials: "omit");
// the conversation's token travels only in the Authorization header.

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.retryAfter = retryAfter;
  }
}

export class Api {
  constructor(base) {
    this.base = base;
  }

  async call(method, path, { token, body } = {}) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data, response.headers.get("Retry-After"));
    return data;
  }

  config(municipality, language) {
    const query = new URLSearchParams({ municipality, language });
    return this.call("GET", `/api/v1/widget/config?${query}`);
  }

  create(municipality, language, languageChosen) {
    return this.call("POST", "/api/v1/conversations", {
      body: { municipality, language, language_chosen: languageChosen, channel: "web" },
    });
  }

  post(session, body) {
    return this.call("POST", `/api/v1/conversations/${session.id}/messages`, {
      token: session.token,
      body,
    });
  }

  messages(session, after) {
    return this.call("GET", `/api/v1/conversations/${session.id}/messages?after=${after}`, {
      token: session.token,
    });
  }

  remove(session) {
    return this.call("DELETE", `/api/v1/conversations/${session.id}`, { token: session.token });
  }

  /**
   * Reads the server-sent events of a conversation until `signal` aborts, reconnecting with
   * the last cursor after a dropped connection. fetch() instead of EventSource, because
   * EventSource cannot send the Authorization header and the token must not be in a URL.
   */
  async stream(session, getCursor, onEvent, onGone, signal) {
    let delay = 1000;
    while (!signal.aborted) {
      try {
        const response = await fetch(
          `${this.base}/api/v1/conversations/${session.id}/events?after=${getCursor()}`,
          {
            headers: { Authorization: `Bearer ${session.token}`, Accept: "text/event-stream" },
            credentials: "omit",
            cache: "no-store",
            signal,
          },
        );
        if (response.status === 401 || response.status === 404) {
          onGone();
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        delay = 1000;
        if ((await readEvents(response.body, onEvent)) === "gone") {
          onGone();
          return;
        }
      } catch (error) {
        if (signal.aborted) return;
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 30000);
    }
  }
}

async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return "ended";
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // a heartbeat or comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
      if (!data.length && name === "message") continue;
      if (name === "gone") return "gone";
      try {
        onEvent(name, JSON.parse(data.join("\n") || "{}"));
      } catch {
        // A malformed event is skipped; the next one carries the cursor on.
      }
    }
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
