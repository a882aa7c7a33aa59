import { createRoute, z } from '@hono/zod-openapi';
import { NextCursor, PaginationQuery, UuidParam, problems, security } from '../http/openapi.js';

export const StoreSchema = z
  .object({
    id: z.string().uuid(),
    name: z.string().openapi({ example: '교촌치킨 전북대점' }),
    category: z.string().openapi({ example: '치킨' }),
    address: z.string(),
    lat: z.number().openapi({ example: 35.8468 }),
    lon: z.number().openapi({ example: 127.1297 }),
    min_order_price: z.number().int().openapi({ example: 16000 }),
    delivery_tip: z.number().int().openapi({ example: 3000 }),
    delivery_minutes: z.number().int().openapi({ example: 35 }),
  })
  .openapi('Store');

export const MenuSchema = z
  .object({
    id: z.string().uuid(),
    store_id: z.string().uuid(),
    name: z.string().openapi({ example: '허니콤보' }),
    price: z.number().int().openapi({ example: 23000 }),
  })
  .openapi('Menu');

const StorePageSchema = z.object({ items: z.array(StoreSchema), next_cursor: NextCursor }).openapi('StorePage');
const MenuListSchema = z.object({ items: z.array(MenuSchema) }).openapi('MenuList');
const CategoryListSchema = z
  .object({ items: z.array(z.object({ name: z.string().openapi({ example: '치킨' }) }).openapi('Category')) })
  .openapi('CategoryList');

export const listCategoriesRoute = createRoute({
  method: 'get',
  path: '/categories',
  operationId: 'listCategories',
  tags: ['stores'],
  summary: 'Store categories',
  description: 'Every category a store can have, in display order.',
  security,
  responses: {
    200: { description: 'The categories.', content: { 'application/json': { schema: CategoryListSchema } } },
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
      category: z.string().min(1).max(50).optional().openapi({ example: '치킨' }),
    }),
  },
  responses: {
    200: { description: 'A page of stores.', content: { 'application/json': { schema: StorePageSchema } } },
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
  request: { params: UuidParam('storeId') },
  responses: {
    200: { description: 'The store.', content: { 'application/json': { schema: StoreSchema } } },
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
  request: { params: UuidParam('storeId') },
  responses: {
    200: { description: 'The menus.', content: { 'application/json': { schema: MenuListSchema } } },
    ...problems(400, 401, 404),
  },
});
