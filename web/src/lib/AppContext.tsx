import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Api } from './api/client';
import type { Auth, Session } from './auth';

export interface AppServices {
  api: Api;
  auth: Auth;
}

export const AppContext = createContext<AppServices | null>(null);

export function useServices(): AppServices {
  const services = useContext(AppContext);
  if (!services) throw new Error('useServices outside the app');
  return services;
}

export function useApi(): Api {
  return useServices().api;
}

export function useSession(): Session | null {
  const { auth } = useServices();
  return useSyncExternalStore(auth.subscribe, () => auth.current());
}
