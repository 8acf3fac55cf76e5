/** The small page an unsubscribe link shows in a browser: a confirmation button first, then the result. */
export function unsubscribePage(state: { done: boolean; thread: boolean }): string {
  const scope = state.thread ? 'this conversation' : 'all messages';
  const body = state.done
    ? `<h1>Unsubscribed</h1><p>You will no longer receive ${scope}.</p>`
    : `<h1>Unsubscribe?</h1><p>Stop receiving ${scope}.</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Unsubscribe</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">${body}</body></html>`;
}
