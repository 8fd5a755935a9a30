// A plain-text editor that can mark lines: a textarea over a backdrop of the same lines, beside
// a gutter of line numbers. Marks are how the playground points at the offending line.

const escape = (s) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);

export class Editor {
  constructor(host, { readOnly = false, onChange } = {}) {
    this.host = host;
    this.file = host.dataset.file;
    this.marks = new Map();
    this.focusLine = 0;
    host.innerHTML = '<div class="editor"><pre class="gutter" aria-hidden="true"></pre><div class="body">'
      + '<pre class="backdrop" aria-hidden="true"></pre><textarea spellcheck="false" wrap="off"></textarea></div></div>';
    this.gutter = host.querySelector('.gutter');
    this.backdrop = host.querySelector('.backdrop');
    this.text = host.querySelector('textarea');
    this.text.readOnly = readOnly;
    this.text.setAttribute('aria-label', host.closest('.pane, section')?.querySelector('h2, h3')?.textContent ?? this.file);
    this.text.addEventListener('input', () => {
      this.render();
      onChange?.(this.value);
    });
    this.text.addEventListener('scroll', () => this.sync());
    this.text.addEventListener('keydown', (e) => {
      if (e.key === 'Tab' && !readOnly) {
        e.preventDefault();
        document.execCommand('insertText', false, '  ');
      }
    });
    this.render();
  }

  get value() {
    return this.text.value;
  }

  set value(text) {
    this.text.value = text;
    this.render();
  }

  /** Marks lines: a Map of 1-based line to `deny`, `warn`, `audit` or `error`. */
  mark(marks) {
    this.marks = marks;
    this.focusLine = 0;
    this.render();
  }

  /** Scrolls to a line, selects it and outlines it. */
  reveal(line) {
    const lines = this.value.split('\n');
    if (line < 1 || line > lines.length) return;
    this.focusLine = line;
    this.render();
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    this.text.focus({ preventScroll: true });
    this.text.setSelectionRange(start, start + lines[line - 1].length);
    const top = (line - 1) * 18;
    if (top < this.text.scrollTop || top > this.text.scrollTop + this.text.clientHeight - 36) {
      this.text.scrollTop = Math.max(0, top - this.text.clientHeight / 3);
    }
    this.sync();
  }

  render() {
    const lines = this.value.split('\n');
    this.gutter.textContent = lines.map((_, i) => i + 1).join('\n');
    this.backdrop.innerHTML = lines
      .map((text, i) => {
        const n = i + 1;
        const cls = ['line', this.marks.get(n), n === this.focusLine ? 'focus' : ''].filter(Boolean).join(' ');
        return `<span class="${cls}" data-line="${n}">${escape(text) || ' '}</span>`;
      })
      .join('');
    this.sync();
  }

  sync() {
    this.backdrop.scrollTop = this.text.scrollTop;
    this.backdrop.scrollLeft = this.text.scrollLeft;
    this.gutter.scrollTop = this.text.scrollTop;
  }
}
