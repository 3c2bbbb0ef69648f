import { Menu, MenuButton, MenuItem, MenuProvider } from '@ariakit/react';

/*
 * The narrow screen's account menu (Ariakit's menu button: arrow keys, Esc, focus return): who is signed in, and
 * Sign out. The pages, the task tray and the bell stay in the top bar, where a tap opens them. Lazy, like the tray:
 * Ariakit is not part of the first load.
 */
export function AccountMenu({ username, role, onSignOut }: { username: string | null; role: string | null; onSignOut: () => void }) {
  return (
    <MenuProvider placement="bottom-end">
      <MenuButton className="menu-button" aria-label="Menu">
        <svg aria-hidden="true" width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round">
          <path d="M4 6h16M4 12h16M4 18h16" />
        </svg>
      </MenuButton>
      <Menu className="shell-menu" gutter={6} portal>
        {username ? (
          <p className="shell-menu__who">
            Signed in as <strong>{username}</strong>
            {role ? <span className="muted"> ({role})</span> : null}
          </p>
        ) : null}
        <MenuItem className="shell-menu__item" onClick={onSignOut}>
          Sign out
        </MenuItem>
      </Menu>
    </MenuProvider>
  );
}
