// Lotsen's chat, inside the frame that widget.js (main.js) draws on the municipal site. The
// frame is Lotsen's own page (/widget/frame), so the conversation, its token (in this
// origin's localStorage) and everything shown here are out of reach of the host page's
// scripts. The host page learns only the frame's size, by postMessage to the origin it
// named (checked by the server).

import { Api, ApiError } from "./api.js";
import { focusables, h, link, linkified, safeUrl } from "./dom.js";
import STRINGS from "./strings.json";

const LANGUAGES = { sv: "Svenska", fi: "Suomi", uk: "Українська", en: "English" };
const RIGHT_TO_LEFT = new Set(["ar", "fa"]);
const WITH_A_PERSON = new Set(["waiting", "human", "closed"]);
const DEFAULT_MAX_CHARS = 2000;
const DEFAULT_RETENTION_DAYS = 90;

function uiStrings(language) {
  return STRINGS[language] || STRINGS.en;
}

/** Where the conversation is kept: this device, or only this tab where that is refused. */
function storage() {
  try {
    return window.localStorage;
  } catch {
    return window.sessionStorage;
  }
}

/** A globe, drawn (not an emoji, which some phones lack a font for). */
function globe() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  for (const [name, value] of Object.entries({
    viewBox: "0 0 24 24",
    width: "1.1em",
    height: "1.1em",
    "aria-hidden": "true",
    focusable: "false",
    class: "lotsen-globe",
  })) {
    svg.setAttribute(name, value);
  }
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute(
    "d",
    "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20Zm0 2c1.3 1.6 2.2 3.7 2.5 6h-5C9.8 7.7 10.7 5.6 12 4Zm-2.6.5A13 13 0 0 0 7.5 10H4.3a8 8 0 0 1 5.1-5.5Zm5.2 0A8 8 0 0 1 19.7 10h-3.2a13 13 0 0 0-1.9-5.5ZM4.3 12h3.2c.2 2 .8 3.9 1.9 5.5A8 8 0 0 1 4.3 12Zm5.2 0h5c-.3 2.3-1.2 4.4-2.5 6-1.3-1.6-2.2-3.7-2.5-6Zm7 0h3.2a8 8 0 0 1-5.1 5.5 13 13 0 0 0 1.9-5.5Z",
  );
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

/** A language's own name for itself (for the translated languages the server offers). */
function nativeName(code) {
  try {
    return new Intl.DisplayNames([code], { type: "language" }).of(code) || code;
  } catch {
    return code;
  }
}

/** Runs of an answer's text; an official term in another language is marked with its
 * own (a screen reader then pronounces it in that language). */
function runs(list) {
  const fragment = document.createDocumentFragment();
  for (const run of list) {
    if (!run || typeof run.text !== "string") continue;
    const language = typeof run.language === "string" && /^[a-z]{2}$/.test(run.language) ? run.language : null;
    fragment.append(language ? h("span", { lang: language }, linkified(run.text)) : linkified(run.text));
  }
  return fragment;
}

class Widget {
  constructor(settings) {
    this.base = window.location.origin;
    this.api = new Api(this.base);
    this.municipality = settings.municipality || "";
    this.host = settings.host;
    this.storageKey = `lotsen-widget:${this.municipality}`;
    this.session = this.loadSession();
    const pageLanguage = (settings.language || "sv").slice(0, 2).toLowerCase();
    this.language = this.session?.language || (pageLanguage in LANGUAGES ? pageLanguage : "sv");
    this.state = "bot";
    this.cursor = 0;
    this.shown = new Set();
    this.maxChars = DEFAULT_MAX_CHARS;
    this.privacyUrl = null;
    // Days messages are kept after the last one (the municipality's retention, from the
    // server's config); the default until the config arrives.
    this.retentionDays = DEFAULT_RETENTION_DAYS;
    this.busy = false;
    // Numbers the long answers' hidden parts (the ids their "Show more" buttons control).
    this.moreCount = 0;
    this.streamAbort = null;
    // Picked in the language menu (kept for the conversation), or only the page's language,
    // which the person's own words may still change.
    this.languageChosen = false;
  }

  // --- Session: the conversation's id and token, kept on this device (the frame's
  // localStorage: Lotsen's origin, kept apart per embedding site by the browser) so that a
  // new tab or a return visit continues it, until the person deletes it. ---

  loadSession() {
    try {
      const saved = JSON.parse(storage().getItem(this.storageKey) || "null");
      return saved && typeof saved.id === "string" && typeof saved.token === "string"
        ? saved
        : null;
    } catch {
      return null;
    }
  }

  saveSession() {
    try {
      if (this.session) storage().setItem(this.storageKey, JSON.stringify(this.session));
      else storage().removeItem(this.storageKey);
    } catch {
      // Storage may be off (private mode): the conversation then lasts as long as the page.
    }
  }

  // --- Building the panel. ---

  mount() {
    // The frame's page links the stylesheet itself, so nothing here shows unstyled.
    this.root = h("div", { id: "lotsen-widget", class: "lotsen" });

    this.launcher = h("button", {
      type: "button",
      class: "lotsen-launcher",
      "aria-expanded": "false",
      "aria-controls": "lotsen-panel",
      "aria-haspopup": "dialog",
    });
    this.launcherLabel = h("span", {});
    // The first thing a newcomer sees: the same invitation in the other languages too.
    this.launcherOthers = h("span", { class: "lotsen-launcher-others" });
    this.badge = h("span", { class: "lotsen-badge", hidden: true });
    this.launcher.append(this.launcherLabel, this.badge, this.launcherOthers);
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
    this.greeting = h("article", { class: "lotsen-message lotsen-from-bot" });
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
    // No maxlength: a browser would cut a pasted text silently. Too long a text is kept and
    // the person is told at once how long it may be.
    this.input = h("textarea", { id: "lotsen-input", rows: "2", autocomplete: "off" });
    this.input.addEventListener("input", () => {
      const tooLong = this.input.value.trim().length > this.maxChars;
      if (tooLong) this.showError(uiStrings(this.language).tooLong.replace("{limit}", String(this.maxChars)));
      else if (this.error.dataset.reason === "tooLong") this.showError("");
      this.error.dataset.reason = tooLong ? "tooLong" : "";
    });
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
    // The host page sizes the frame to what is shown: the launcher, or the open panel.
    new ResizeObserver(() => this.tellHost()).observe(this.launcher);
    this.tellHost();
    this.loadConfig();
    if (this.session) this.resume();
  }

  /** Only what the host page needs to size the frame; never anything of the conversation. */
  tellHost() {
    if (!this.host || window.parent === window) return;
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    const launcher = this.launcher.getBoundingClientRect();
    window.parent.postMessage(
      {
        lotsen: "frame",
        open: !this.panel.hidden,
        side: this.root.getAttribute("dir") === "rtl" ? "left" : "right",
        rem,
        width: Math.ceil(launcher.width + 2 * rem),
        height: Math.ceil(launcher.height + 2 * rem),
      },
      this.host,
    );
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
    const direction = RIGHT_TO_LEFT.has(language) ? "rtl" : "ltr";
    this.root.setAttribute("lang", language);
    this.root.setAttribute("dir", direction);
    document.documentElement.setAttribute("lang", language);
    document.documentElement.setAttribute("dir", direction);
    this.launcherLabel.textContent = text.launcher;
    this.launcherOthers.replaceChildren(
      ...Object.keys(LANGUAGES)
        .filter((code) => code !== language)
        .map((code) => h("span", { lang: code }, STRINGS[code].launcher)),
    );
    this.badge.textContent = text.newMessage;
    this.title.textContent = text.title;
    const name = this.languageNames[language] || nativeName(language);
    // Readable without the page's language: a globe and the language's own name; the word
    // "language" also in English for a screen reader.
    this.languageToggle.replaceChildren(globe(), h("span", { lang: language }, name));
    this.languageToggle.setAttribute(
      "aria-label",
      `${text.language}${language === "en" ? "" : " (Language)"}: ${name}`,
    );
    this.translatedNote.textContent = text.machineTranslated;
    for (const choice of this.languageList.querySelectorAll("button")) {
      if (choice.dataset.language === language) choice.setAttribute("aria-current", "true");
      else choice.removeAttribute("aria-current");
    }
    this.closeLabel.textContent = text.close;
    this.renderPrivacyLink();
    this.log.setAttribute("aria-label", text.log);
    this.greeting.replaceChildren(
      h("h3", { class: "lotsen-sender" }, text.bot),
      h("div", { class: "lotsen-text" }, text.greeting),
      h(
        "ul",
        { class: "lotsen-can-write" },
        ...Object.keys(LANGUAGES)
          .filter((code) => code !== language)
          .map((code) => h("li", { lang: code }, STRINGS[code].canWrite)),
      ),
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
    if (this.launcher.isConnected) this.tellHost();
  }

  renderPrivacyLink() {
    const text = uiStrings(this.language);
    this.privacyText.textContent = text.privacy
      .replace("{days}", String(this.retentionDays))
      .replace("{restart}", text.restart);
    const href = this.privacyUrl && safeUrl(this.privacyUrl);
    this.privacyLink.replaceChildren(href ? link(href, text.privacyLink) : "");
  }

  async loadConfig() {
    try {
      const config = await this.api.config(this.municipality, this.language);
      this.privacyUrl = config.privacy_url;
      this.maxChars = config.max_message_chars || DEFAULT_MAX_CHARS;
      if (Number.isInteger(config.retention_days)) this.retentionDays = config.retention_days;
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
    this.tellHost();
    this.scrollToEnd();
    this.input.focus();
  }

  close() {
    this.closeLanguages();
    this.panel.hidden = true;
    this.launcher.hidden = false;
    this.launcher.setAttribute("aria-expanded", "false");
    this.tellHost();
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
    // One article per message with its sender as a heading: a screen reader can jump from
    // message to message.
    const item = h(
      "article",
      { class: `lotsen-message lotsen-from-${sender}`, lang: message.language || false },
      h("h3", { class: sender === "user" ? "lotsen-sender lotsen-sr" : "lotsen-sender" }, label),
      ...this.body(message),
    );
    const buttons = Array.isArray(message.buttons) ? message.buttons : [];
    if (buttons.length) this.retireReplies();
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
    this.scrollToShow(item, sender === "user");
  }

  /** The message's text: as written, or (an answer from the content) its first screen
   * with the rest behind "Show more", official terms marked with their language. */
  body(message) {
    const layout = message.layout;
    if (!layout || !Array.isArray(layout.first_screen)) {
      return [h("div", { class: "lotsen-text", dir: "auto" }, linkified(message.text || ""))];
    }
    const parts = [h("div", { class: "lotsen-text", dir: "auto" }, runs(layout.first_screen))];
    if (Array.isArray(layout.more) && layout.more.length) {
      this.moreCount += 1;
      const rest = h(
        "div",
        { class: "lotsen-rest", dir: "auto", id: `lotsen-rest-${this.moreCount}`, hidden: true },
        runs(layout.more),
      );
      const toggle = h("button", {
        type: "button",
        class: "lotsen-more",
        "aria-expanded": "false",
        "aria-controls": rest.id,
      });
      const label = () => {
        const text = uiStrings(this.language);
        toggle.textContent = rest.hidden ? text.more : text.less;
      };
      label();
      toggle.addEventListener("click", () => {
        rest.hidden = !rest.hidden;
        toggle.setAttribute("aria-expanded", String(!rest.hidden));
        label();
      });
      parts.push(toggle, rest);
    }
    return parts;
  }

  /** A long answer is read from its beginning: the view goes to its start, not its end. */
  scrollToShow(item, fromPerson) {
    const top = item.getBoundingClientRect().top - this.log.getBoundingClientRect().top;
    if (fromPerson || item.offsetHeight <= this.log.clientHeight) this.scrollToEnd();
    else this.log.scrollTop += top - 8;
  }

  /** Quick replies answered or overtaken stay readable but leave the Tab order. */
  retireReplies() {
    for (const button of this.log.querySelectorAll(".lotsen-reply:not([disabled])")) {
      button.disabled = true;
    }
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
    // The assistant's buttons (among them "back to the assistant") mean nothing while a
    // person answers.
    if (this.state === "human") this.retireReplies();
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
    this.retireReplies();
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
        for (const message of page.messages || []) {
          if (message.sender === "user") this.retireReplies();
          this.addMessage(message);
        }
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
  if (document.getElementById("lotsen-widget")) return;
  // Written into the frame's page by the server (bot/channels/widget/frame.py).
  const widget = new Widget(document.documentElement.dataset);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => widget.mount());
  } else {
    widget.mount();
  }
}

start();
