// Lotsen's chat widget. Embedded with one tag:
//   <script src="https://HOST/widget.js" data-municipality="example" data-language="sv" defer></script>
// It loads its stylesheet from the same HOST and talks only to HOST's conversation API.

import { Api, ApiError } from "./api.js";
import { focusables, h, link, linkified, safeUrl } from "./dom.js";
import STRINGS from "./strings.json";

const LANGUAGES = { sv: "Svenska", fi: "Suomi", uk: "Українська", en: "English" };
const RIGHT_TO_LEFT = new Set(["ar", "fa"]);
const WITH_A_PERSON = new Set(["waiting", "human", "closed"]);
const DEFAULT_MAX_CHARS = 2000;

function uiStrings(language) {
  return STRINGS[language] || STRINGS.en;
}

class Widget {
  constructor(script) {
    const source = new URL(script.src, document.baseURI);
    this.base = source.origin;
    this.api = new Api(this.base);
    this.municipality = script.dataset.municipality || "";
    this.storageKey = `lotsen-widget:${this.base}:${this.municipality}`;
    this.session = this.loadSession();
    const pageLanguage = (script.dataset.language || document.documentElement.lang || "sv")
      .slice(0, 2)
      .toLowerCase();
    this.language = this.session?.language || (pageLanguage in LANGUAGES ? pageLanguage : "sv");
    this.state = "bot";
    this.cursor = 0;
    this.shown = new Set();
    this.maxChars = DEFAULT_MAX_CHARS;
    this.privacyUrl = null;
    this.busy = false;
    this.streamAbort = null;
    // Picked in the language menu (kept for the conversation), or only the page's language,
    // which the person's own words may still change.
    this.languageChosen = false;
  }

  // --- Session: the conversation's id and token, for this tab only (sessionStorage). ---

  loadSession() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(this.storageKey) || "null");
      return saved && typeof saved.id === "string" && typeof saved.token === "string"
        ? saved
        : null;
    } catch {
      return null;
    }
  }

  saveSession() {
    try {
      if (this.session) sessionStorage.setItem(this.storageKey, JSON.stringify(this.session));
      else sessionStorage.removeItem(this.storageKey);
    } catch {
      // Storage may be off (private mode): the conversation then lasts as long as the page.
    }
  }

  // --- Building the panel. ---

  mount() {
    const stylesheet = h("link", { rel: "stylesheet", href: `${this.base}/widget.css` });
    this.root = h("div", { id: "lotsen-widget", class: "lotsen", hidden: true });
    // Shown once its stylesheet is there, so it never flashes unstyled.
    const show = () => this.root.removeAttribute("hidden");
    stylesheet.addEventListener("load", show);
    stylesheet.addEventListener("error", show);
    document.head.append(stylesheet);

    this.launcher = h("button", {
      type: "button",
      class: "lotsen-launcher",
      "aria-expanded": "false",
      "aria-controls": "lotsen-panel",
      "aria-haspopup": "dialog",
    });
    this.launcherLabel = h("span", {});
    this.badge = h("span", { class: "lotsen-badge", hidden: true });
    this.launcher.append(this.launcherLabel, this.badge);
    this.title = h("h2", { id: "lotsen-title", class: "lotsen-title" });
    this.languageToggle = h("button", {
      type: "button",
      class: "lotsen-tool lotsen-language-toggle",
      "aria-expanded": "false",
      "aria-controls": "lotsen-languages",
    });
    this.languageList = h("ul", { id: "lotsen-languages", class: "lotsen-languages", hidden: true });
    this.languageNames = { ...LANGUAGES };
    for (const [code, name] of Object.entries(LANGUAGES)) this.addLanguageChoice(code, name);
    this.translatedNote = h("li", { class: "lotsen-languages-note", hidden: true });
    this.languageList.append(this.translatedNote);
    this.closeButton = h("button", { type: "button", class: "lotsen-tool lotsen-close" });
    this.closeButton.append(h("span", { "aria-hidden": "true" }, "×"));
    this.closeLabel = h("span", { class: "lotsen-sr" });
    this.closeButton.append(this.closeLabel);

    this.notice = h("p", { class: "lotsen-notice", role: "status" });
    this.privacyText = h("span", {});
    this.privacyLink = h("span", {});
    this.privacy = h("p", { id: "lotsen-privacy", class: "lotsen-privacy" }, this.privacyText, " ", this.privacyLink);
    this.log = h("div", {
      class: "lotsen-log",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions",
      tabindex: "0",
    });
    this.greeting = h("div", { class: "lotsen-message lotsen-from-bot" });
    this.typing = h("p", { class: "lotsen-typing", hidden: true });
    this.typingText = h("span", {});
    this.typing.append(h("span", { class: "lotsen-dots", "aria-hidden": "true" }, h("span"), h("span"), h("span")), this.typingText);

    this.humanButton = h("button", { type: "button", class: "lotsen-action lotsen-human" });
    this.humanButton.addEventListener("click", () => this.requestHuman());
    this.restartButton = h("button", { type: "button", class: "lotsen-action lotsen-restart" });
    this.restartButton.addEventListener("click", () => this.askToDelete());
    this.actions = h("div", { class: "lotsen-actions" }, this.humanButton, this.restartButton);
    this.confirmText = h("p", { id: "lotsen-confirm-text" });
    this.confirmYes = h("button", { type: "button", class: "lotsen-action lotsen-danger" });
    this.confirmNo = h("button", { type: "button", class: "lotsen-action" });
    this.confirmYes.addEventListener("click", () => this.deleteConversation());
    this.confirmNo.addEventListener("click", () => this.cancelDelete());
    this.confirm = h(
      "div",
      { class: "lotsen-confirm", role: "group", "aria-labelledby": "lotsen-confirm-text", hidden: true },
      this.confirmText,
      h("div", { class: "lotsen-confirm-buttons" }, this.confirmYes, this.confirmNo),
    );

    this.inputLabel = h("label", { for: "lotsen-input", class: "lotsen-sr" });
    this.input = h("textarea", { id: "lotsen-input", rows: "2", maxlength: String(this.maxChars), autocomplete: "off" });
    this.sendButton = h("button", { type: "submit", class: "lotsen-send" });
    this.error = h("p", { class: "lotsen-error", role: "alert", hidden: true });
    this.form = h("form", { class: "lotsen-composer", novalidate: true }, this.inputLabel, this.input, this.sendButton);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendTyped();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendTyped();
      }
    });

    this.panel = h(
      "div",
      {
        id: "lotsen-panel",
        class: "lotsen-panel",
        role: "dialog",
        "aria-modal": "true",
        "aria-labelledby": "lotsen-title",
        "aria-describedby": "lotsen-privacy",
        hidden: true,
      },
      h(
        "div",
        { class: "lotsen-header" },
        this.title,
        h("div", { class: "lotsen-tools" }, this.languageToggle, this.closeButton),
        this.languageList,
      ),
      this.notice,
      this.log,
      this.typing,
      this.error,
      this.actions,
      this.confirm,
      this.form,
    );
    this.log.append(this.privacy, this.greeting);
    this.root.append(this.launcher, this.panel);
    document.body.append(this.root);

    this.launcher.addEventListener("click", () => this.open());
    this.closeButton.addEventListener("click", () => this.close());
    this.languageToggle.addEventListener("click", () => this.toggleLanguages());
    // On the document, not the panel: focus may have fallen to the page (a button that
    // disappeared), and the open dialog still owns Escape and Tab.
    document.addEventListener("keydown", (event) => {
      if (!this.panel.hidden) this.onKeydown(event);
    });

    this.applyLanguage(this.language);
    this.showState("bot");
    this.loadConfig();
    if (this.session) this.resume();
  }

  addLanguageChoice(code, name) {
    const choice = h("button", { type: "button", lang: code, dir: "auto", "data-language": code }, name);
    choice.addEventListener("click", () => this.chooseLanguage(code));
    this.languageList.append(h("li", {}, choice));
  }

  /** The languages the server reaches through machine translation (installed packages). */
  addTranslatedLanguages(languages) {
    if (!Array.isArray(languages)) return;
    for (const entry of languages) {
      if (!entry || typeof entry.code !== "string" || typeof entry.name !== "string") continue;
      if (this.languageNames[entry.code]) continue;
      this.languageNames[entry.code] = entry.name;
      this.addLanguageChoice(entry.code, entry.name);
      this.translatedNote.hidden = false;
    }
    this.applyLanguage(this.language);
  }

  /** Every fixed text in the widget's language; `dir` for right-to-left languages. */
  applyLanguage(language) {
    this.language = language;
    const text = uiStrings(language);
    this.root.setAttribute("lang", language);
    this.root.setAttribute("dir", RIGHT_TO_LEFT.has(language) ? "rtl" : "ltr");
    this.launcherLabel.textContent = text.launcher;
    this.badge.textContent = text.newMessage;
    this.title.textContent = text.title;
    this.languageToggle.textContent = `${text.language}: ${this.languageNames[language] || language}`;
    this.translatedNote.textContent = text.machineTranslated;
    for (const choice of this.languageList.querySelectorAll("button")) {
      if (choice.dataset.language === language) choice.setAttribute("aria-current", "true");
      else choice.removeAttribute("aria-current");
    }
    this.closeLabel.textContent = text.close;
    this.privacyText.textContent = text.privacy;
    this.renderPrivacyLink();
    this.log.setAttribute("aria-label", text.log);
    this.greeting.replaceChildren(
      h("span", { class: "lotsen-sender" }, text.bot),
      h("div", { class: "lotsen-text" }, text.greeting),
    );
    this.typingText.textContent = text.typing;
    this.humanButton.textContent = text.human;
    this.restartButton.textContent = text.restart;
    this.confirmText.textContent = text.confirmDelete;
    this.confirmYes.textContent = text.confirmYes;
    this.confirmNo.textContent = text.confirmNo;
    this.inputLabel.textContent = text.input;
    this.sendButton.textContent = text.send;
    this.showState(this.state);
  }

  renderPrivacyLink() {
    const text = uiStrings(this.language);
    const href = this.privacyUrl && safeUrl(this.privacyUrl);
    this.privacyLink.replaceChildren(href ? link(href, text.privacyLink) : "");
  }

  async loadConfig() {
    try {
      const config = await this.api.config(this.municipality, this.language);
      this.privacyUrl = config.privacy_url;
      this.maxChars = config.max_message_chars || DEFAULT_MAX_CHARS;
      this.input.setAttribute("maxlength", String(this.maxChars));
      this.renderPrivacyLink();
      this.addTranslatedLanguages(config.translated_languages);
    } catch {
      // The widget works without: no link to the privacy statement, the default limit.
    }
  }

  // --- Opening, closing, keyboard. ---

  open() {
    this.badge.hidden = true;
    this.panel.hidden = false;
    this.launcher.hidden = true;
    this.launcher.setAttribute("aria-expanded", "true");
    this.scrollToEnd();
    this.input.focus();
  }

  close() {
    this.closeLanguages();
    this.panel.hidden = true;
    this.launcher.hidden = false;
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.focus();
  }

  onKeydown(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      if (!this.languageList.hidden) {
        this.closeLanguages();
        this.languageToggle.focus();
      } else {
        this.close();
      }
      return;
    }
    if (event.key !== "Tab") return;
    // A modal dialog: Tab and Shift-Tab go round inside the panel.
    const inside = focusables(this.panel);
    if (!inside.length) return;
    const first = inside[0];
    const last = inside[inside.length - 1];
    if (event.shiftKey && (document.activeElement === first || !this.panel.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !this.panel.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  }

  toggleLanguages() {
    if (this.languageList.hidden) {
      this.languageList.hidden = false;
      this.languageToggle.setAttribute("aria-expanded", "true");
      (this.languageList.querySelector('[aria-current="true"]') || this.languageList.querySelector("button")).focus();
    } else {
      this.closeLanguages();
    }
  }

  closeLanguages() {
    this.languageList.hidden = true;
    this.languageToggle.setAttribute("aria-expanded", "false");
  }

  // --- Messages. ---

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  /** A message from the API; each one once, whichever way it arrived. */
  addMessage(message) {
    if (message.id !== undefined) {
      if (this.shown.has(message.id)) return;
      this.shown.add(message.id);
      this.cursor = Math.max(this.cursor, message.id);
    }
    const text = uiStrings(this.language);
    const sender = ["user", "bot", "coordinator", "system"].includes(message.sender) ? message.sender : "bot";
    let label = text.bot;
    if (sender === "user") label = text.you;
    if (sender === "coordinator") label = `${message.sender_name || text.coordinator} (${text.coordinator})`;
    const item = h(
      "div",
      { class: `lotsen-message lotsen-from-${sender}`, lang: message.language || false },
      h("span", { class: sender === "user" ? "lotsen-sender lotsen-sr" : "lotsen-sender" }, label),
      h("div", { class: "lotsen-text", dir: "auto" }, linkified(message.text || "")),
    );
    const buttons = Array.isArray(message.buttons) ? message.buttons : [];
    if (buttons.length) {
      const group = h("div", { class: "lotsen-replies", role: "group", "aria-label": text.replies });
      for (const button of buttons) {
        const quickReply = h("button", { type: "button", class: "lotsen-reply" }, String(button.title));
        quickReply.addEventListener("click", () =>
          this.send({ payload: String(button.payload) }, String(button.title)),
        );
        group.append(quickReply);
      }
      item.append(group);
    }
    this.log.append(item);
    this.scrollToEnd();
  }

  addMessages(messages, { includeUser = true } = {}) {
    for (const message of messages) {
      // Live updates skip the person's own messages: this tab already shows them.
      if (!includeUser && message.sender === "user") {
        this.shown.add(message.id);
        this.cursor = Math.max(this.cursor, message.id);
        continue;
      }
      this.addMessage(message);
    }
  }

  showState(state) {
    this.state = state || "bot";
    const text = uiStrings(this.language);
    const notice = { waiting: text.waiting, human: text.withHuman, closed: text.closed }[this.state];
    this.notice.hidden = !notice;
    this.notice.textContent = notice || "";
    this.panel.classList.toggle("lotsen-with-person", WITH_A_PERSON.has(this.state));
    const hideHuman = this.state !== "bot";
    if (hideHuman && document.activeElement === this.humanButton) this.input.focus();
    this.humanButton.hidden = hideHuman;
  }

  onResult(result) {
    if (result.language && result.language !== this.language) {
      this.applyLanguage(result.language);
      if (this.session) {
        this.session.language = result.language;
        this.saveSession();
      }
    }
    if (result.state) this.showState(result.state);
  }

  showError(message) {
    this.error.textContent = message || "";
    this.error.hidden = !message;
  }

  // --- Talking to the API. ---

  async ensureSession() {
    if (this.session) return this.session;
    const created = await this.api.create(this.municipality, this.language, this.languageChosen);
    this.session = { id: created.conversation_id, token: created.token, language: created.language };
    this.saveSession();
    this.startStream();
    return this.session;
  }

  sendTyped() {
    const value = this.input.value.trim();
    if (!value || this.busy) return;
    if (value.length > this.maxChars) {
      this.showError(uiStrings(this.language).tooLong.replace("{limit}", String(this.maxChars)));
      return;
    }
    this.input.value = "";
    this.send({ text: value }, value);
  }

  requestHuman() {
    this.send({ command: "request_human" }, uiStrings(this.language).humanShown);
  }

  chooseLanguage(language) {
    this.closeLanguages();
    this.languageToggle.focus();
    if (language === this.language) return;
    if (!this.session) {
      // Nothing said yet: only the widget changes; the conversation starts in this language.
      this.languageChosen = true;
      this.applyLanguage(language);
      return;
    }
    this.send({ command: "choose_language", language }, this.languageNames[language]);
  }

  async send(body, shownText) {
    if (this.busy) return;
    this.busy = true;
    this.showError("");
    this.addMessage({ sender: "user", text: shownText, language: this.language });
    const thinking = this.state === "bot";
    this.typing.hidden = !thinking;
    this.scrollToEnd();
    try {
      let result;
      try {
        result = await this.api.post(await this.ensureSession(), body);
      } catch (error) {
        if (!(error instanceof ApiError) || (error.status !== 401 && error.status !== 404)) throw error;
        // The conversation is gone on the server (deleted elsewhere): start a new one.
        this.forgetSession();
        result = await this.api.post(await this.ensureSession(), body);
      }
      this.addMessages(result.messages || []);
      this.onResult(result);
    } catch (error) {
      this.showError(error instanceof ApiError && error.code !== "internal_error" ? error.message : uiStrings(this.language).error);
      if (body.text) this.input.value = body.text;
    } finally {
      this.typing.hidden = true;
      this.busy = false;
    }
  }

  /** After a reload or a move to another page of the site: the whole conversation again. */
  async resume() {
    try {
      for (;;) {
        const page = await this.api.messages(this.session, this.cursor);
        this.addMessages(page.messages || []);
        this.onResult(page);
        if (!page.messages || page.messages.length < 200) break;
      }
      this.startStream();
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 404)) this.forgetSession();
    }
  }

  startStream() {
    this.streamAbort?.abort();
    const abort = new AbortController();
    this.streamAbort = abort;
    const session = this.session;
    this.api.stream(
      session,
      () => this.cursor,
      (name, data) => {
        if (name === "messages") {
          const before = this.shown.size;
          this.addMessages(data.messages || [], { includeUser: false });
          // A coordinator's reply or a reminder while the panel is closed: the launcher says so.
          const fromOthers = (data.messages || []).some((m) => m.sender !== "user");
          if (this.panel.hidden && fromOthers && this.shown.size > before) this.badge.hidden = false;
        }
        if (name === "state") this.onResult(data);
      },
      () => {
        if (this.session === session) this.forgetSession();
      },
      abort.signal,
    );
  }

  forgetSession() {
    this.streamAbort?.abort();
    this.streamAbort = null;
    this.session = null;
    this.saveSession();
    this.cursor = 0;
    this.shown.clear();
    this.showState("bot");
  }

  askToDelete() {
    this.actions.hidden = true;
    this.confirm.hidden = false;
    this.confirmNo.focus();
  }

  cancelDelete() {
    this.confirm.hidden = true;
    this.actions.hidden = false;
    this.restartButton.focus();
  }

  async deleteConversation() {
    const session = this.session;
    try {
      if (session) await this.api.remove(session);
    } catch (error) {
      if (!(error instanceof ApiError) || (error.status !== 401 && error.status !== 404)) {
        this.showError(uiStrings(this.language).error);
        return;
      }
    }
    this.forgetSession();
    for (const message of [...this.log.querySelectorAll(".lotsen-message")]) {
      if (message !== this.greeting) message.remove();
    }
    this.showError("");
    this.confirm.hidden = true;
    this.actions.hidden = false;
    this.notice.hidden = false;
    this.notice.textContent = uiStrings(this.language).deleted;
    this.input.focus();
  }
}

function start() {
  const script =
    document.currentScript ||
    document.querySelector('script[src$="/widget.js"][data-municipality]');
  if (!script || document.getElementById("lotsen-widget")) return;
  const widget = new Widget(script);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => widget.mount());
  } else {
    widget.mount();
  }
}

start();
