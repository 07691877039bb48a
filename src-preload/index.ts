import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { buildClient, eventChannel, invokeChannel, type CallResult } from '../src-shared/ipc';

// The renderer gets exactly the contract: no ipcRenderer, no channel names, nothing else.
const api = buildClient({
  call: (service, method, arg) =>
    ipcRenderer.invoke(invokeChannel(service, method), arg) as Promise<CallResult>,
  subscribe: (key, listener) => {
    const channel = eventChannel(key);
    const handler = (_e: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(channel, handler);
    return () => {
      ipcRenderer.removeListener(channel, handler);
    };
  },
});

contextBridge.exposeInMainWorld('api', api);
