// The generated typings of the private addon must compile too.
import type { NativeTokenManager, NativeAccessToken, NativeError, NativeSetting, cachedStampFunction } from '../../node_modules/cortiauth/native'

export async function native(m: NativeTokenManager, o: NativeSetting, stampOf: ReturnType<typeof cachedStampFunction>): Promise<void> {
  const r: NativeAccessToken | NativeError = await m.tokenThen()
  const header: string | null = m.seenAuthorization()
  const stamp: number = stampOf.call(m.cachedStampHandle())
  const seen: string | null = m.seenAccessToken()
  const warnings: string[] = m.deprecations()
  void [r, header, stamp, seen, o.name, warnings]
}
