import { createRoute, z } from '@hono/zod-openapi';
import { STORE_LEDGER_KINDS } from '../domain/kinds.js';
import { NextCursor, PaginationQuery, UuidParam, dateTime, jsonResponse, problems, security, uuid } from '../http/openapi.js';

const STORE_ID_EXAMPLE = '0d7e2b1a-3c4f-4a5b-8c6d-7e8f9a0b1c2d';
const MENU_ID_EXAMPLE = '9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';

export const StoreSchema = z
  .object({
    id: uuid(STORE_ID_EXAMPLE),
    name: z.string().openapi({ example: '교촌치킨 전북대점' }),
    category: z.string().openapi({ example: '치킨' }),
    address: z.string().openapi({ example: '전북 전주시 덕진구 권삼득로 12' }),
    lat: z.number().openapi({ example: 35.8468 }),
    lon: z.number().openapi({ example: 127.1297 }),
    min_order_price: z.number().int().openapi({ description: 'KRW the menu total must reach.', example: 16000 }),
    delivery_tip: z.number().int().openapi({ description: 'KRW, split between the two participants.', example: 3000 }),
    delivery_minutes: z.number().int().openapi({ description: 'Typical minutes from match to delivery.', example: 35 }),
  })
  .openapi('Store', { description: 'A restaurant that delivers.' });

export const MenuSchema = z
  .object({
    id: uuid(MENU_ID_EXAMPLE),
    store_id: uuid(STORE_ID_EXAMPLE),
    name: z.string().openapi({ example: '허니콤보' }),
    price: z.number().int().openapi({ description: 'KRW.', example: 23000 }),
  })
  .openapi('Menu', { description: 'A dish of a store.' });

const StorePageSchema = z
  .object({ items: z.array(StoreSchema), next_cursor: NextCursor })
  .openapi('StorePage', { description: 'A page of stores, by name.' });
const MenuListSchema = z
  .object({ items: z.array(MenuSchema) })
  .openapi('MenuList', { description: 'Every menu of a store, cheapest first.' });
const CategorySchema = z
  .object({ name: z.string().openapi({ example: '치킨' }) })
  .openapi('Category', { description: 'A store category.' });
const CategoryListSchema = z
  .object({ items: z.array(CategorySchema) })
  .openapi('CategoryList', { description: 'Every store category, in display order.' });

export const listCategoriesRoute = createRoute({
  method: 'get',
  path: '/categories',
  operationId: 'listCategories',
  tags: ['stores'],
  summary: 'Store categories',
  description: 'Every category a store can have, in display order.',
  security,
  responses: {
    200: jsonResponse('The categories.', CategoryListSchema),
    ...problems(401),
  },
});

export const listStoresRoute = createRoute({
  method: 'get',
  path: '/stores',
  operationId: 'listStores',
  tags: ['stores'],
  summary: 'Stores, optionally of one category',
  description: 'Stores by name, cursor-paginated.',
  security,
  request: {
    query: PaginationQuery.extend({
      category: z
        .string()
        .min(1)
        .max(50)
        .optional()
        .openapi({ description: 'Only stores of this category (see GET /categories).', example: '치킨' }),
    }),
  },
  responses: {
    200: jsonResponse('A page of stores.', StorePageSchema),
    ...problems(400, 401),
  },
});

export const getStoreRoute = createRoute({
  method: 'get',
  path: '/stores/{storeId}',
  operationId: 'getStore',
  tags: ['stores'],
  summary: 'One store',
  description: 'A store with its minimum order price, delivery tip and delivery time.',
  security,
  request: { params: UuidParam('storeId', "The store's id.") },
  responses: {
    200: jsonResponse('The store.', StoreSchema),
    ...problems(400, 401, 404),
  },
});

export const listMenusRoute = createRoute({
  method: 'get',
  path: '/stores/{storeId}/menus',
  operationId: 'listStoreMenus',
  tags: ['stores'],
  summary: "A store's menus",
  description: 'Every menu of the store, cheapest first.',
  security,
  request: { params: UuidParam('storeId', "The store's id.") },
  responses: {
    200: jsonResponse('The menus.', MenuListSchema),
    ...problems(400, 401, 404),
  },
});

export const StoreLedgerEntrySchema = z
  .object({
    id: z.number().int().openapi({ example: 7 }),
    kind: z.enum(STORE_LEDGER_KINDS).openapi({ example: 'order_payout' }),
    amount: z.number().int().openapi({ description: 'KRW paid in: everything a delivered order held.', example: 26000 }),
    balance_after: z.number().int().openapi({ example: 260000 }),
    order_id: uuid().openapi({ description: 'The delivered order.' }),
    created_at: dateTime(),
  })
  .openapi('StoreLedgerEntry', { description: "One append-only movement of a store's payout account." });

const StoreLedgerPageSchema = z
  .object({
    balance: z.number().int().openapi({ description: "The payout account's balance: always the sum of its ledger.", example: 260000 }),
    items: z.array(StoreLedgerEntrySchema),
    next_cursor: NextCursor,
  })
  .openapi('StoreLedgerPage', { description: 'The payout balance and a page of its ledger, newest first.' });

export const getStoreLedgerRoute = createRoute({
  method: 'get',
  path: '/stores/{storeId}/ledger',
  operationId: 'listStoreLedger',
  tags: ['store staff'],
  summary: "The store's payouts",
  description:
    "The store's payout account: one row per delivered order, paid in the transaction that completed it. " +
    "Only the store's staff may see it (403 otherwise).",
  security,
  request: { params: UuidParam('storeId', "The store's id."), query: PaginationQuery },
  responses: {
    200: jsonResponse('The balance and a page of payouts.', StoreLedgerPageSchema),
    ...problems(400, 401, 403),
  },
});
