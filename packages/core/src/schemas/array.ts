import { z } from 'zod'

/** One storage array of `GET /api/v1/arrays` (seeds/001, "List Arrays"). */
export const ArraySchema = z
  .object({
    id: z.string().meta({ example: 'node-1' }),
    name: z.string().meta({ example: 'PStorage' }),
    model: z.string().meta({ example: 'PStorage Virtual Array' }),
    version: z.string().meta({ example: '0.1.0' }),
    capacity: z.object({
      total_bytes: z.number().int().min(0).meta({ example: 268435456 }),
      used_bytes: z.number().int().min(0).meta({ example: 52428800 }),
      reduction_ratio: z.number().min(1).meta({ example: 3.2 }),
    }),
  })
  .meta({ id: 'Array' })
export type StorageArray = z.infer<typeof ArraySchema>

export const ArrayListSchema = z.object({ arrays: z.array(ArraySchema) }).meta({ id: 'ArrayList' })
export type ArrayList = z.infer<typeof ArrayListSchema>
