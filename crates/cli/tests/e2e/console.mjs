// Drives Debian's Chromium (headless, through playwright-core) through the pumpguard
// console the way a person does: the login form, then every page in turn, by clicking
// the navigation. Prints one JSON object: for each page its URL, status, <h1>, the text
// of <main>, and every console error or failed request (a CSP violation shows up
// there); screenshots go to OUT_DIR at 1280×800 and at tablet size (768×1024).
//
//   node console.mjs BASE_URL USER PASSWORD OUT_DIR PAGES_JSON
//
// PAGES_JSON: [{"nav": "Assets", "path": "/assets"}, …]: the nav link's text and the
// path it must lead to.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [base, user, password, outDir, pagesJson] = process.argv.slice(2);
const pages = JSON.parse(pagesJson);
mkdirSync(outDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const result = { login: {}, pages: [], problems: [], tablet: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') result.problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => result.problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => result.problems.push(`request failed: ${r.url()}`));
  page.on('response', (r) => {
    if (r.status() >= 500) result.problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });

  // An anonymous visit lands on the login form.
  await page.goto(`${base}/`);
  result.login.anonymous_url = page.url();
  await page.screenshot({ path: `${outDir}/login.png` });
  // A wrong password first: the form says so.
  await page.getByLabel(/user/i).fill(user);
  await page.getByLabel(/password/i).fill('not-the-password');
  await Promise.all([page.waitForEvent('framenavigated'), page.keyboard.press('Enter')]);
  await page.waitForLoadState('load');
  result.login.wrong_password_text = await page.locator('main').innerText();
  // The wrong password's 401 page is the one expected error: keep it apart.
  result.login.problems = result.problems.splice(0);
  // Then the right one, typed and submitted from the keyboard.
  await page.getByLabel(/user/i).fill(user);
  await page.getByLabel(/password/i).fill(password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.keyboard.press('Enter')]);
  result.login.after_url = page.url();
  const cookies = await context.cookies();
  result.login.cookie = cookies.map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite }));

  for (const p of pages) {
    const link = page.getByRole('navigation').getByRole('link', { name: p.nav, exact: true });
    await Promise.all([page.waitForEvent('framenavigated'), link.click()]);
    await page.waitForLoadState('load');
    const h1 = await page.locator('h1').first().innerText();
    const main = await page.locator('main').innerText();
    const name = p.path.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'overview';
    await page.screenshot({ path: `${outDir}/${name}.png`, fullPage: true });
    result.pages.push({ nav: p.nav, path: p.path, url: page.url(), h1, main });
  }

  // Drill down: the first asset and the first alert of their tables, then triage that
  // alert with its form.
  result.details = {};
  for (const [key, path] of [['asset', '/assets'], ['alert', '/alerts']]) {
    await page.goto(`${base}${path}`);
    const first = page.locator('main table tbody a').first();
    await Promise.all([page.waitForEvent('framenavigated'), first.click()]);
    await page.waitForLoadState('load');
    result.details[key] = {
      url: page.url(),
      h1: await page.locator('h1').first().innerText(),
      main: await page.locator('main').innerText(),
    };
    await page.screenshot({ path: `${outDir}/${key}_detail.png`, fullPage: true });
  }
  result.triage = {};
  const ack = page.getByRole('button', { name: /acknowledge/i }).first();
  if (await ack.count()) {
    const note = page.getByLabel(/note/i).first();
    if (await note.count()) await note.fill('seen by the e2e test');
    await Promise.all([page.waitForEvent('framenavigated'), ack.click()]);
    await page.waitForLoadState('load');
    result.triage.after = await page.locator('main').innerText();
    await page.screenshot({ path: `${outDir}/alert_acknowledged.png`, fullPage: true });
  }

  // Keyboard: Tab from the top reaches a link or control with a visible focus ring.
  await page.goto(`${base}/`);
  await page.keyboard.press('Tab');
  result.keyboard_focus = await page.evaluate(() => {
    const el = document.activeElement;
    const style = el ? getComputedStyle(el) : null;
    return el ? { tag: el.tagName, text: el.innerText || el.value || '', outline: style.outlineStyle } : null;
  });

  // A tablet.
  await page.setViewportSize({ width: 768, height: 1024 });
  for (const p of pages.slice(0, 3)) {
    await page.goto(`${base}${p.path}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    const name = p.path.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'overview';
    await page.screenshot({ path: `${outDir}/tablet_${name}.png` });
    result.tablet.push({ path: p.path, overflow });
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result));
