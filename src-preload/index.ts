import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import {
  buildClient,
  eventChannel,
  invokeChannel,
  type CallResult,
  type FieldcalFiles,
} from '../src-shared/ipc';

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

// ... and, for drag-and-drop, one function: the real path of a dropped File (with contextIsolation on,
// File.path is gone; webUtils reads it here). A value that is not a File, or a file not on disk, gives null.
const files: FieldcalFiles = {
  pathForFile: (file) => {
    try {
      const path = webUtils.getPathForFile(file);
      return typeof path === 'string' && path.length > 0 ? path : null;
    } catch {
      return null;
    }
  },
};

contextBridge.exposeInMainWorld('api', api);
contextBridge.exposeInMainWorld('fieldcalFiles', files);
