// Every logged-in page: the header (navigation, live state, running jobs, the user), toasts.
import type { ReactNode } from 'react';
import { Link, useRoute } from 'wouter';
import type { User } from '../api/types';
import { useLogout } from '../auth/session';
import { EmailSetting } from './EmailSetting';
import { LiveIndicator } from './LiveIndicator';
import { RunningJobsWidget } from './RunningJobsWidget';
import { NotifyToggle, Toasts } from './Toasts';

export function Layout({ user, children }: { user: User; children: ReactNode }) {
  const logout = useLogout();
  return (
    <>
      <a className="skip" href="#content">Skip to content</a>
      <header className="header">
        <Link href="/" className="brand">jobwatch</Link>
        <nav aria-label="Main">
          <NavLink href="/">Jobs</NavLink>
          <NavLink href="/imports">Imports</NavLink>
          <NavLink href="/datasets">Datasets</NavLink>
          {user.is_admin && <NavLink href="/admin">Admin</NavLink>}
        </nav>
        <div className="header-end">
          <LiveIndicator />
          <RunningJobsWidget />
          <NotifyToggle />
          <EmailSetting />
          <span className="muted small user">{user.email}</span>
          <button type="button" className="secondary small" onClick={() => logout.mutate()} disabled={logout.isPending}>
            Log out
          </button>
        </div>
      </header>
      <div id="content">{children}</div>
      <Toasts />
    </>
  );
}

/** A navigation link that says which page is open (aria-current), not by colour alone. */
function NavLink({ href, children }: { href: string; children: ReactNode }) {
  const [exact] = useRoute(href);
  const [nested] = useRoute(`${href}/*`);
  const current = exact || (href !== '/' && nested);
  return (
    <Link href={href} aria-current={current ? 'page' : undefined}>
      {children}
    </Link>
  );
}
