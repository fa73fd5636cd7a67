// comptoir purchase notices: shows the newest real purchase from
// /api/v1/proof/recent in a small toast. Plain JavaScript, no dependency;
// the same file runs on the store's pages and, from /embed/proof.js, on
// the store's other sites (the feed answers CORS for allowed origins).
// Accessible: role=status, a close button (and Escape), no motion when the
// visitor asks for reduced motion. Closing keeps it closed for the session.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !window.fetch || !window.URL) {
    return;
  }
  var KEY = 'comptoir-proof-closed';
  try {
    if (window.sessionStorage.getItem(KEY)) {
      return;
    }
  } catch (e) { /* storage blocked: show it, closing still works */ }

  var lang = (document.documentElement.lang || '').slice(0, 2).toLowerCase();
  var url = new URL('/api/v1/proof/recent', script.src);
  if (lang === 'fr' || lang === 'en') {
    url.searchParams.set('lang', lang);
  }

  function show(item, closeLabel) {
    var still = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    var box = document.createElement('div');
    box.className = 'comptoir-proof';
    box.id = 'comptoir-proof';
    box.setAttribute('role', 'status');
    box.setAttribute('aria-live', 'polite');
    var s = box.style;
    s.position = 'fixed';
    s.left = '1rem';
    s.bottom = '1rem';
    s.maxWidth = '22rem';
    s.zIndex = '1000';
    s.display = 'flex';
    s.alignItems = 'flex-start';
    s.gap = '0.5rem';
    s.padding = '0.75rem 0.75rem 0.75rem 1rem';
    s.background = '#fff';
    s.color = '#1a1a1a';
    s.border = '1px solid #888';
    s.borderRadius = '0.5rem';
    s.boxShadow = '0 2px 8px rgba(0,0,0,.2)';
    s.font = '0.95rem/1.4 system-ui, sans-serif';

    var text = document.createElement('p');
    text.className = 'comptoir-proof-text';
    text.style.margin = '0';
    var close = document.createElement('button');
    close.type = 'button';
    close.className = 'comptoir-proof-close';
    close.setAttribute('aria-label', closeLabel);
    close.title = closeLabel;
    close.textContent = '\u00D7';
    close.style.font = 'inherit';
    close.style.fontSize = '1.2rem';
    close.style.lineHeight = '1';
    close.style.background = 'none';
    close.style.border = '0';
    close.style.cursor = 'pointer';
    close.style.padding = '0 0.25rem';
    close.style.color = 'inherit';

    function dismiss() {
      try {
        window.sessionStorage.setItem(KEY, '1');
      } catch (e) { /* nothing to remember it in */ }
      document.removeEventListener('keydown', onKey);
      if (box.parentNode) {
        box.parentNode.removeChild(box);
      }
    }
    function onKey(ev) {
      if (ev.key === 'Escape') {
        dismiss();
      }
    }
    close.addEventListener('click', dismiss);
    document.addEventListener('keydown', onKey);

    box.appendChild(close);
    if (!still) {
      s.opacity = '0';
      s.transform = 'translateY(0.5rem)';
      s.transition = 'opacity .3s ease-out, transform .3s ease-out';
    }
    document.body.appendChild(box);
    // The live region exists first and its text is added after, so that
    // screen readers announce it.
    window.setTimeout(function () {
      text.textContent = item.text;
      box.insertBefore(text, close);
      if (!still) {
        s.opacity = '1';
        s.transform = 'none';
      }
    }, 50);
  }

  window.fetch(url.toString(), { credentials: 'omit', headers: { Accept: 'application/json' } })
    .then(function (res) { return res.ok ? res.json() : null; })
    .then(function (body) {
      if (!body || !body.items || !body.items.length || !document.body) {
        return;
      }
      var label = script.getAttribute('data-close-label') || (lang === 'fr' ? 'Fermer' : 'Close');
      show(body.items[0], label);
    })
    .catch(function () { /* no notice is better than a broken page */ });
}());
