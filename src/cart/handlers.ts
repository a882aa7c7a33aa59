import type { RouteHandler } from '@hono/zod-openapi';
import { DomainError } from '../domain/errors.js';
import { menuTotal } from '../domain/pricing.js';
import type { Deps } from '../http/deps.js';
import type { AppEnv } from '../http/env.js';
import { findMenus } from '../stores/repository.js';
import { cartLines, cartStoreOtherThan, deleteCartItems, lockCart, putCartItem, type CartLine } from './repository.js';
import type { clearCartRoute, deleteCartItemRoute, getCartRoute, putCartItemRoute } from './routes.js';

function presentCart(lines: CartLine[]) {
  return {
    store_id: lines[0]?.store_id ?? null,
    items: lines.map((l) => ({
      menu_id: l.menu_id,
      name: l.name,
      unit_price: l.price,
      quantity: l.quantity,
      line_total: l.price * l.quantity,
    })),
    menu_total: menuTotal(lines.map((l) => ({ unitPrice: l.price, quantity: l.quantity }))),
  };
}

export const getCart =
  (deps: Deps): RouteHandler<typeof getCartRoute, AppEnv> =>
  async (c) =>
    c.json(presentCart(await cartLines(deps.db, c.var.userId)), 200);

export const setCartItem =
  (deps: Deps): RouteHandler<typeof putCartItemRoute, AppEnv> =>
  async (c) => {
    const { menuId } = c.req.valid('param');
    const { quantity } = c.req.valid('json');
    const userId = c.var.userId;
    const [menu] = await findMenus(deps.db, [menuId]);
    if (!menu) throw new DomainError('not_found', `No menu ${menuId}.`);
    const lines = await deps.db.transaction().execute(async (tx) => {
      // For the lock alone: the user exists (requireAuth), so the row is always there.
      await lockCart(tx, userId);
      const otherStore = await cartStoreOtherThan(tx, userId, menu.store_id);
      if (otherStore) {
        throw new DomainError(
          'cart_store_conflict',
          `The cart holds items of store ${otherStore}; empty it (DELETE /cart) before adding another store's menus.`,
        );
      }
      await putCartItem(tx, { userId, menuId, storeId: menu.store_id, quantity });
      return cartLines(tx, userId);
    });
    return c.json(presentCart(lines), 200);
  };

export const removeCartItem =
  (deps: Deps): RouteHandler<typeof deleteCartItemRoute, AppEnv> =>
  async (c) => {
    await deleteCartItems(deps.db, c.var.userId, c.req.valid('param').menuId);
    return c.json(presentCart(await cartLines(deps.db, c.var.userId)), 200);
  };

export const clearCart =
  (deps: Deps): RouteHandler<typeof clearCartRoute, AppEnv> =>
  async (c) => {
    await deleteCartItems(deps.db, c.var.userId);
    return c.body(null, 204);
  };
